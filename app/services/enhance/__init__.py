"""The enhance stage: a shot's clip interpolated to a higher frame rate and upscaled, before composition."""
