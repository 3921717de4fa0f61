"""The bottom layer: the Mention record, the config, the vocabulary and secrets. It imports nothing of the project."""
