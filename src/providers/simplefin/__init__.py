"""The SimpleFIN client: setup tokens claimed for an Access URL, and account sets read with it."""
