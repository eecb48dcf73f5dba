/*
 * tsan_zk.c - what ThreadSanitizer is told about libzookeeper_mt, in every test binary of
 * this module.
 *
 * The ZooKeeper C client formats endpoints for its log lines into one static buffer
 * (format_endpoint_info in zookeeper.c: a sprintf into a function-static array). Every
 * handle's I/O thread writes it when it (re)connects, so with several handles in one
 * process - three brokers in a test - TSan sees two threads of the library writing the
 * same bytes: a real race in the library, harmless to us (at worst a garbled log line),
 * and not ours to fix. The library is not instrumented; what TSan sees of it are its calls
 * into intercepted libc functions. `called_from_lib` ignores exactly those: races inside
 * libzookeeper_mt's own calls. Every access this module makes - including to memory the
 * library's threads touch through our watcher - is still checked.
 *
 * (TSan calls __tsan_default_suppressions at start-up when a binary defines it; in a build
 * without TSan it is an unused function.)
 */
const char *__tsan_default_suppressions(void);

const char *__tsan_default_suppressions(void)
{
    return "called_from_lib:libzookeeper_mt.so\n";
}
