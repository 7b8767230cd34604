# Kept equal to project(tiercache VERSION ...) in the top CMakeLists.txt (a test checks).
__version__ = "0.1.0"
