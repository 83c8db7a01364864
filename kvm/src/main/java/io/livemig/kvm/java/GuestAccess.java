package io.livemig.kvm.java;

import io.livemig.kvm.SerialSink;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A Java vCPU's view of the guest: byte loads and stores at guest-physical addresses (offsets into the RAM
 * block {@code "ram"}, which starts at gpa 0), and the serial port.
 *
 * <p><b>Dirty-marking order</b> (why a concurrent sync never misses a write): every store is performed FIRST,
 * and the page's bit in the software dirty log is set AFTER it with a volatile read-modify-write
 * ({@link SoftwareDirtyLog#mark}). The migration thread harvests with a volatile get-and-clear of the word and
 * only then copies the page. Two cases:
 * <ul>
 *   <li>the harvest's clear comes after the vCPU's set: the set has release semantics and the get-and-clear
 *       acquire semantics, so the store (before the set in program order) is visible to the copy that
 *       follows the harvest — the copy sends the new byte;</li>
 *   <li>the harvest's clear comes before the vCPU's set: the bit is set again afterwards, so the next sync
 *       reports the page again and it is sent again.</li>
 * </ul>
 * Setting the bit before the store would be wrong: the harvest could clear it and copy the page before the
 * store lands, and nothing would report the page again.
 */
public final class GuestAccess {
    private final MemorySegment ram;
    private final JavaMachine.Tracking tracking;
    private final SerialSink serial;

    GuestAccess(MemorySegment ram, JavaMachine.Tracking tracking, SerialSink serial) {
        this.ram = ram;
        this.tracking = tracking;
        this.serial = serial;
    }

    /** Guest RAM size in bytes (the highest gpa + 1). */
    public long ramBytes() {
        return ram.byteSize();
    }

    public byte readByte(long gpa) {
        return ram.get(ValueLayout.JAVA_BYTE, gpa);
    }

    /** Store, then mark the page dirty (see the class comment for why in this order). */
    public void writeByte(long gpa, byte value) {
        ram.set(ValueLayout.JAVA_BYTE, gpa, value);
        SoftwareDirtyLog log = tracking.log; // volatile read: null while no tracker is open
        if (log != null) log.mark(gpa >>> SoftwareDirtyLog.PAGE_SHIFT);
    }

    /** An {@code out} to port 0x3F8. */
    public void serialOut(byte b) {
        serial.write(b);
    }
}
