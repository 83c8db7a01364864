package io.livemig.sys;

/**
 * A libc call or system call failed. The message names the call, its key arguments, the errno name,
 * number and text, e.g. {@code ioctl(KVM_SET_USER_MEMORY_REGION, slot=3) failed: EINVAL(22) Invalid argument}.
 * errno was captured at the call ({@code Linker.Option.captureCallState}), never read later.
 */
public final class SyscallException extends RuntimeException {
    private final String call;
    private final int errno;

    public SyscallException(String call, int errno) {
        super(call + " failed: " + Errno.describe(errno));
        this.call = call;
        this.errno = errno;
    }

    /** The call and its key arguments, as shown in the message. */
    public String call() {
        return call;
    }

    /** The errno value the call left. */
    public int errno() {
        return errno;
    }

    /** The errno name, e.g. {@code "EBADF"}. */
    public String errnoName() {
        return Errno.name(errno);
    }
}
