"""``s4 bench``: named accuracy and speed figures, each with its unit and scene."""
