# common/: libkc_common, the shared library (no demo), and libkc_test, the helpers every
# module's tests link (KC_TESTLIB is named in the root Makefile).
# The compression codecs (kc_codec.h) use Debian's zlib, snappy, lz4 and zstd.
common_LDLIBS := -lz -lsnappy -llz4 -lzstd
$(eval $(call kc_module,common,kc_common,,))

$(KC_TESTLIB): $(BUILD)/obj/common/testlib/kc_test.o $(BUILD)/obj/common/testlib/kc_netns.o
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^
