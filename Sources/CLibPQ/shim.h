// libpq's client API only (libpq-fe.h): the Postgres module wraps it; nothing else includes libpq.
#include <libpq-fe.h>
