"""QIL Editor: decompose flat images into editable RGBA layers."""

__version__ = "0.1.0"
