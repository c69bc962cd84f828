"""Generated documentation: the configuration reference and the AsyncAPI documents."""
