package io.livemig.kvm.hw;

/**
 * A vCPU stopped the VM: the exit KVM reported (or the KVM_RUN error) and the guest rip where it happened,
 * e.g. {@code vCPU 0: KVM_EXIT_SHUTDOWN(8) (triple fault) at rip=0x7c1b}.
 */
public final class UnexpectedExitException extends RuntimeException {
    private final int vcpu;
    private final String exit;
    private final long rip;

    public UnexpectedExitException(int vcpu, String exit, long rip, String detail) {
        super("vCPU " + vcpu + ": " + exit + (detail == null || detail.isEmpty() ? "" : " (" + detail + ")")
                + " at rip=" + (rip < 0 ? "?" : "0x" + Long.toHexString(rip)));
        this.vcpu = vcpu;
        this.exit = exit;
        this.rip = rip;
    }

    public int vcpu() {
        return vcpu;
    }

    /** The exit name with its number, e.g. {@code KVM_EXIT_SHUTDOWN(8)}. */
    public String exit() {
        return exit;
    }

    /** Guest rip at the exit, or -1 when it could not be read. */
    public long rip() {
        return rip;
    }
}
