package io.livemig.sys;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LibCTest {
    private static final int O_RDONLY = 0;
    private static final int O_RDWR = 2;

    @Test
    void ioctlOnClosedFdNamesTheCallAndEbadf() {
        int fd = LibC.open("/dev/null", O_RDWR, 0);
        LibC.close(fd);
        Ioctl fionread = new Ioctl("FIONREAD", 0x541B);
        try (Arena arena = Arena.ofConfined()) {
            SyscallException e = assertThrows(SyscallException.class,
                    () -> LibC.ioctl(fd, fionread, arena.allocate(8), "fd=" + fd));
            assertEquals(9, e.errno());
            assertEquals("EBADF", e.errnoName());
            assertEquals("ioctl(FIONREAD, fd=" + fd + ") failed: EBADF(9) Bad file descriptor", e.getMessage());
        }
    }

    @Test
    void openOfMissingFileNamesPathAndEnoent() {
        SyscallException e = assertThrows(SyscallException.class,
                () -> LibC.open("/nonexistent/livemig", O_RDONLY, 0));
        assertTrue(e.getMessage().startsWith("open(/nonexistent/livemig, flags=0x0) failed: ENOENT(2)"), e.getMessage());
        assertEquals(-2, LibC.openOrErrno("/nonexistent/livemig", O_RDONLY, 0));
    }

    @Test
    void pwriteThenPreadRoundTripsThroughAFile(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path f = dir.resolve("x");
        Files.write(f, new byte[8192]);
        int fd = LibC.open(f.toString(), O_RDWR, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocateFrom("hello livemig");
            assertEquals(out.byteSize(), LibC.pwrite(fd, out, out.byteSize(), 4096));
            MemorySegment in = arena.allocate(out.byteSize());
            assertEquals(out.byteSize(), LibC.pread(fd, in, in.byteSize(), 4096));
            assertEquals("hello livemig", in.getString(0));
        } finally {
            LibC.close(fd);
        }
    }

    @Test
    void ioctlCodesFollowTheIocEncoding() {
        // KVM_GET_API_VERSION = _IO(0xAE, 0x00); KVM_SET_USER_MEMORY_REGION = _IOW(0xAE, 0x46, 32 bytes)
        assertEquals(0xAE00L, Ioctl.io("KVM_GET_API_VERSION", 0xAE, 0x00).code());
        assertEquals(0x4020AE46L, Ioctl.iow("KVM_SET_USER_MEMORY_REGION", 0xAE, 0x46, 32).code());
        assertThrows(IllegalArgumentException.class, () -> Ioctl.iowr("X", 0xAE, 1, 1 << 14));
    }

    @Test
    void threadIdsAreRealKernelIds() {
        assertTrue(LibC.getpid() > 0);
        assertTrue(LibC.gettid() > 0);
        assertEquals(0, LibC.tgkillOrErrno(LibC.getpid(), LibC.gettid(), 0)); // signal 0: existence check
    }
}
