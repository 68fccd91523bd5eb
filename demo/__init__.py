"""A generated, realistic demo portfolio and the one command that runs the whole job on it."""
