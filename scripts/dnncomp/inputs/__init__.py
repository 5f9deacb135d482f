"""What the study compresses: datasets (data) and networks (models)."""
