"""dnncomp: the logic behind the compression-study workflow (rule scripts in ../ stay thin)."""
