package io.livemig.sys.zstd;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * FFM binding to the system zstd library ({@code libzstd.so.1}): the streaming compression and
 * decompression API that QEMU's multifd-zstd uses ({@code ZSTD_createCStream}, {@code ZSTD_initCStream},
 * {@code ZSTD_compressStream2} with {@code ZSTD_e_flush}, {@code ZSTD_createDStream},
 * {@code ZSTD_decompressStream}, {@code ZSTD_isError}, {@code ZSTD_getErrorName}).
 *
 * <p>Why an FFM binding to the system library rather than zstd-jni: (1) no JNI library is extracted
 * into /tmp at class-load time (zstd-jni unpacks a bundled .so, which fails on noexec /tmp and ships a
 * second zstd build we would have to track for CVEs); (2) it is the same libzstd QEMU links, so both
 * peers of an interop test run identical compressor code; (3) input and output are
 * {@link MemorySegment}s, so pages go from guest RAM into the compressor and from the decompressor into
 * guest RAM with no heap copy (zstd-jni's streaming API works on byte[] or direct ByteBuffers it must
 * own); (4) no new dependency and no {@code --add-opens}; only this class links natives, as the module
 * rule says.
 *
 * <p>The library is looked up lazily, once; {@link #isAvailable()} says whether it was found and
 * {@link #unavailableReason()} why not. Calling a factory without the library throws
 * {@link UnsupportedOperationException} naming {@code libzstd.so.1}.
 */
@SuppressWarnings("restricted") // the FFM calls that need --enable-native-access live here, on purpose
public final class ZstdNative {
    /** {@code ZSTD_EndDirective}: keep buffering. */
    public static final int ZSTD_E_CONTINUE = 0;
    /** {@code ZSTD_EndDirective}: flush everything buffered, ending the current block (not the frame). */
    public static final int ZSTD_E_FLUSH = 1;
    /** {@code ZSTD_EndDirective}: end the frame. */
    public static final int ZSTD_E_END = 2;

    /** sizeof(ZSTD_inBuffer) == sizeof(ZSTD_outBuffer): {pointer, size_t size, size_t pos}. */
    static final long BUFFER_STRUCT_BYTES = 24;

    private static final String LIBRARY = "libzstd.so.1";

    private ZstdNative() {
    }

    /** Whether libzstd.so.1 could be loaded. */
    public static boolean isAvailable() {
        return Lib.HANDLES != null;
    }

    /** Why libzstd could not be loaded, or null when it was. */
    public static String unavailableReason() {
        return Lib.FAILURE;
    }

    /** The library version as {@code ZSTD_versionNumber()} reports it, e.g. 10504 for 1.5.4. */
    public static int versionNumber() {
        try {
            return (int) lib().versionNumber.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ZSTD_compressBound(srcSize)}: worst-case compressed size of one-shot input. */
    public static long compressBound(long srcSize) {
        try {
            return (long) lib().compressBound.invokeExact(srcSize);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A compression stream at {@code level} ({@code ZSTD_createCStream} + {@code ZSTD_initCStream}). */
    public static ZstdCompressStream createCompressStream(int level) {
        return new ZstdCompressStream(lib(), level);
    }

    /** A decompression stream ({@code ZSTD_createDStream} + {@code ZSTD_initDStream}). */
    public static ZstdDecompressStream createDecompressStream() {
        return new ZstdDecompressStream(lib());
    }

    static Handles lib() {
        Handles h = Lib.HANDLES;
        if (h == null) {
            throw new UnsupportedOperationException("zstd is not available: " + Lib.FAILURE
                    + " (multifd-compression=zstd needs the system library " + LIBRARY
                    + "; on Debian: apt-get install libzstd1)");
        }
        return h;
    }

    /** Throws {@link ZstdException} when {@code code} is a zstd error code; returns it otherwise. */
    static long check(Handles h, long code, String call) {
        try {
            int isError = (int) h.isError.invokeExact(code);
            if (isError != 0) {
                MemorySegment name = (MemorySegment) h.getErrorName.invokeExact(code);
                String text = name.equals(MemorySegment.NULL) ? "unknown" : name.reinterpret(4096).getString(0);
                throw new ZstdException(call, text);
            }
            return code;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException re) return re;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("zstd downcall failed", t);
    }

    /** The linked handles; one instance per process. */
    static final class Handles {
        final MethodHandle versionNumber;
        final MethodHandle compressBound;
        final MethodHandle isError;
        final MethodHandle getErrorName;
        final MethodHandle createCStream;
        final MethodHandle initCStream;
        final MethodHandle compressStream2;
        final MethodHandle freeCStream;
        final MethodHandle createDStream;
        final MethodHandle initDStream;
        final MethodHandle decompressStream;
        final MethodHandle freeDStream;

        Handles(SymbolLookup lookup) {
            Linker linker = Linker.nativeLinker();
            versionNumber = link(linker, lookup, "ZSTD_versionNumber", FunctionDescriptor.of(JAVA_INT));
            compressBound = link(linker, lookup, "ZSTD_compressBound", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
            isError = link(linker, lookup, "ZSTD_isError", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
            getErrorName = link(linker, lookup, "ZSTD_getErrorName", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
            createCStream = link(linker, lookup, "ZSTD_createCStream", FunctionDescriptor.of(ADDRESS));
            initCStream = link(linker, lookup, "ZSTD_initCStream",
                    FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_INT));
            compressStream2 = link(linker, lookup, "ZSTD_compressStream2",
                    FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
            freeCStream = link(linker, lookup, "ZSTD_freeCStream", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
            createDStream = link(linker, lookup, "ZSTD_createDStream", FunctionDescriptor.of(ADDRESS));
            initDStream = link(linker, lookup, "ZSTD_initDStream", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
            decompressStream = link(linker, lookup, "ZSTD_decompressStream",
                    FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS, ADDRESS));
            freeDStream = link(linker, lookup, "ZSTD_freeDStream", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        }

        private static MethodHandle link(Linker linker, SymbolLookup lookup, String name, FunctionDescriptor fd) {
            MemorySegment sym = lookup.find(name).orElseThrow(
                    () -> new UnsatisfiedLinkError(LIBRARY + " has no symbol " + name + " (zstd >= 1.4 needed)"));
            return linker.downcallHandle(sym, fd);
        }
    }

    /** Lazy holder: the library is opened on first use, never unloaded (global arena). */
    private static final class Lib {
        static final Handles HANDLES;
        static final String FAILURE;

        static {
            Handles h = null;
            String failure = null;
            try {
                h = new Handles(SymbolLookup.libraryLookup(LIBRARY, Arena.global()));
            } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                failure = "cannot load " + LIBRARY + ": " + e.getMessage();
            }
            HANDLES = h;
            FAILURE = failure;
        }
    }
}
