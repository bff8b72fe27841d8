// Only the reentrant API: fcgi_stdio.h would redefine printf and FILE.
#include <fcgiapp.h>
