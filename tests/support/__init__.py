"""What the tests, scripts/ and the device check share, outside the installed package (a robot never needs it):
tiny_dam (a tiny random DAM from DAM's own classes), dam_on_cpu (DAM's CUDA placements pointed at the CPU),
torchvision_standin (the official sam2 generator on a CPU machine), locks (checks on the pinned environments).
Imported as `support.<module>` with tests/ on sys.path: pytest puts it there (tests/conftest.py); scripts/ and the
subprocesses tests start add it (PYTHONPATH=tests)."""
