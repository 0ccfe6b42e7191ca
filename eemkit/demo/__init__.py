"""The real-time demo, predict and face detection."""
