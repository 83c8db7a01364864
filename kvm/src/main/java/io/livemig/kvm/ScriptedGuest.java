package io.livemig.kvm;

import java.time.Duration;

/**
 * A guest that writes pages on command (guest {@code "scripted"}), so a test knows exactly which pages the
 * guest itself wrote between two dirty syncs. The dirty-tracking contract test drives every backend through it.
 *
 * <p>The Java machine implements it with a workload on vCPU 0; a KVM implementation typically reads a command
 * mailbox in guest RAM, increments the bytes, and reports completion through an I/O port; the pages it writes
 * for its own bookkeeping are listed by {@link #bookkeepingPages()} so the test does not count them as extra.
 */
public interface ScriptedGuest {

    /**
     * Has the guest increment (mod 256) the byte at each guest-physical address, in order, once each, and
     * returns when the guest has done all of them. Fails with IllegalStateException naming how many were done
     * when that does not happen within {@code timeout} (e.g. the machine is paused).
     */
    void incrementBytes(long[] guestPhysicalAddresses, Duration timeout);

    /** Guest page numbers (gpa / 4096) the guest itself writes while executing a command; empty by default. */
    default long[] bookkeepingPages() {
        return new long[0];
    }
}
