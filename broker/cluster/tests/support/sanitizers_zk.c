/*
 * sanitizers_zk.c - what ThreadSanitizer and LeakSanitizer are told about libzookeeper_mt,
 * in every test binary of this module. Both exceptions are inside the library; this
 * module's own code stays fully checked by both.
 *
 * ThreadSanitizer.
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
 * LeakSanitizer. Once in a dozen runs or so, under heavy load (load average 12 on two
 * CPUs), a handle's close left 270 bytes in 5 objects behind, all allocated by the
 * library's I/O thread inside zookeeper_process (the library has no symbols for its
 * static functions; the sizes - 168 bytes and a few small ones - match a completion entry
 * for a notification and what it carries, most likely one that arrived as the handle was
 * closed). `leak:zookeeper_process` ignores allocations made there. The price: a
 * String_vector from zoo_get_children is allocated there too, so LeakSanitizer would not
 * see one this module forgot to free. It has its own check instead: every
 * clu__zk_children is paired with clu__zk_children_free, counted, and clu_close asserts
 * the count is back to zero.
 *
 * (The sanitizers call these functions at start-up when a binary defines them; in a build
 * without them they are unused.)
 */
const char *__tsan_default_suppressions(void);
const char *__lsan_default_suppressions(void);

const char *__tsan_default_suppressions(void)
{
    return "called_from_lib:libzookeeper_mt.so\n";
}

const char *__lsan_default_suppressions(void)
{
    return "leak:zookeeper_process\n";
}
