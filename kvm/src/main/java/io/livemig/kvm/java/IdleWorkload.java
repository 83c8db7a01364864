package io.livemig.kvm.java;

/** A guest that does nothing: its vCPU parks until paused or closed. State: none. */
public final class IdleWorkload implements JavaWorkload {
    @Override
    public String name() {
        return "idle";
    }

    @Override
    public boolean step(GuestAccess guest, int maxPageWrites) {
        return false;
    }

    @Override
    public byte[] saveState() {
        return new byte[0];
    }

    @Override
    public void loadState(byte[] state) {
        if (state.length != 0) {
            throw new IllegalArgumentException("idle state: length=" + state.length + ", expected 0");
        }
    }
}
