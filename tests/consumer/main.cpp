// The README's program compiled as C++: a C++ caller of my_net.h also links only the model.
#include "main.c"
