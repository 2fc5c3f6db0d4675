// libmaxminddb (Debian: libmaxminddb-dev) reads MaxMind DB (.mmdb) GeoIP files.
#include <maxminddb.h>
