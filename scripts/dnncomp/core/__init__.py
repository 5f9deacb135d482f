"""What every layer above uses; imports nothing else of dnncomp."""
