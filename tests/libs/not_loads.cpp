// A shared library that is not a loads test library.
extern "C" int not_a_loads_library() { return 42; }
