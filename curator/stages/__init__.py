"""One module per pipeline stage; each exposes one function with the CLI command's name."""
