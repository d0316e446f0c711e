"""Device drivers and their stand-ins: force plate (serial), RealSense camera, simulator."""
