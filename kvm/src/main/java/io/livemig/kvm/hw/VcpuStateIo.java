package io.livemig.kvm.hw;

import io.livemig.kvm.MachineState;
import io.livemig.sys.abi.KvmH;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.livemig.kvm.hw.KvmStateFormat.name;
import static io.livemig.kvm.hw.KvmStateFormat.unwrap;
import static io.livemig.kvm.hw.KvmStateFormat.wrap;

/**
 * Captures and restores one vCPU's complete KVM state as {@link MachineState} entries (format in
 * {@link KvmStateFormat}). Only while the vCPU's run loop is parked outside KVM_RUN (after an EINTR exit, so any
 * pending PIO/MMIO has been completed by the immediate-exit re-entry).
 *
 * <h2>Restore order, and why</h2>
 * CPUID is set when the vCPU is created (everything below is validated against it: XSAVE features, MSRs).
 * <ol>
 *   <li><b>sregs2 / sregs</b> first: CR0/CR4/EFER and the segments define the mode, and KVM checks later
 *       writes (xsave, MSRs such as EFER-dependent ones) against the current mode; with sregs2 the PAE PDPTRs
 *       come from the saved struct, not from guest memory.</li>
 *   <li><b>regs</b>: RIP/RFLAGS/GPRs, now that the mode is in place.</li>
 *   <li><b>xcrs</b> before <b>xsave</b>: XCR0 says which components the XSAVE image may carry (QEMU's order).</li>
 *   <li><b>MSRs</b> (all except IA32_TSC_DEADLINE): after sregs so EFER/APIC base agree with sregs; includes
 *       IA32_TSC so the guest TSC continues from the saved value.</li>
 *   <li><b>mp_state</b> then <b>lapic</b>: KVM_SET_LAPIC re-arms the APIC timer and recomputes pending
 *       interrupts for the mp_state in force.</li>
 *   <li><b>IA32_TSC_DEADLINE</b> after the LAPIC: KVM ignores the write unless the LAPIC timer is already in
 *       TSC-deadline mode (QEMU's kvm_put_tscdeadline_msr for the same reason).</li>
 *   <li><b>debugregs</b>.</li>
 *   <li><b>vcpu events last</b>: pending/injected exceptions, NMI, interrupt shadow and SIPI vector; setting the
 *       LAPIC or mp_state may reset pending events, so they go in after everything else
 *       (NMI_PENDING and SIPI_VECTOR marked valid, as QEMU does).</li>
 * </ol>
 * The VM clock (KVM_SET_CLOCK) is restored by the machine after all vCPUs, just before they run again.
 */
public final class VcpuStateIo {
    /** IA32_TSC_DEADLINE (arch/x86/include/asm/msr-index.h MSR_IA32_TSCDEADLINE; not part of the uAPI headers). */
    public static final int MSR_IA32_TSC_DEADLINE = 0x6E0;

    /** What this KVM offers for state, probed once per VM. */
    public record Features(boolean sregs2, long xsaveBytes, boolean xcrs, boolean debugregs) {
        public static Features probe(Vm vm) {
            boolean s2 = vm.checkExtension(KvmH.KVM_CAP_SREGS2) > 0;
            long xsave = vm.checkExtension(KvmH.KVM_CAP_XSAVE2);
            if (xsave < KvmH.kvm_xsave.SIZE) xsave = vm.checkExtension(KvmH.KVM_CAP_XSAVE) > 0 ? KvmH.kvm_xsave.SIZE : 0;
            return new Features(s2, xsave, vm.checkExtension(KvmH.KVM_CAP_XCRS) > 0, vm.checkExtension(KvmH.KVM_CAP_DEBUGREGS) > 0);
        }
    }

    private final Vcpu vcpu;
    private final Features features;
    private final int[] msrCandidates;
    private int[] savableMsrs;

    /** @param msrIndexList KVM_GET_MSR_INDEX_LIST of the host */
    public VcpuStateIo(Vcpu vcpu, Features features, int[] msrIndexList) {
        this.vcpu = vcpu;
        this.features = features;
        this.msrCandidates = msrIndexList.clone();
    }

    /**
     * The MSRs KVM lets us read for this vCPU: KVM_GET_MSRS stops at the first MSR it cannot read and returns
     * the count read, so each short read drops that one MSR and retries (at most once per MSR; cached).
     */
    public int[] savableMsrs() {
        if (savableMsrs != null) return savableMsrs.clone();
        int[] list = msrCandidates.clone();
        int n = list.length;
        long[] values = new long[n];
        while (true) {
            int[] probe = Arrays.copyOf(list, n);
            int ok = vcpu.getMsrs(probe, values);
            if (ok >= n) break;
            System.arraycopy(list, ok + 1, list, ok, n - ok - 1); // drop list[ok], the one KVM refused
            n--;
        }
        savableMsrs = Arrays.copyOf(list, n);
        return savableMsrs.clone();
    }

    /** Every part of this vCPU's state, as entries in restore order. */
    public List<MachineState.Entry> capture() {
        int c = vcpu.id();
        List<MachineState.Entry> out = new ArrayList<>();
        if (features.sregs2()) {
            byte[] sregs2 = vcpu.get(KvmH.KVM_GET_SREGS2, KvmH.kvm_sregs2.SIZE);
            String bad = sregs2Inconsistency(sregs2);
            if (bad != null) {
                // Fail here, on the source, while the guest can still be resumed: a destination would refuse this
                // state with KVM_SET_SREGS2 EINVAL after the source had already stopped.
                throw new IllegalStateException("vCPU " + c + " state read from KVM_GET_SREGS2 is inconsistent (" + bad
                        + "; " + describeSregs2(sregs2) + "): not migrating it");
            }
            out.add(entry(c, "sregs2", sregs2));
        } else {
            out.add(entry(c, "sregs", vcpu.get(KvmH.KVM_GET_SREGS, KvmH.kvm_sregs.SIZE)));
        }
        out.add(entry(c, "regs", vcpu.get(KvmH.KVM_GET_REGS, KvmH.kvm_regs.SIZE)));
        if (features.xcrs()) out.add(entry(c, "xcrs", vcpu.get(KvmH.KVM_GET_XCRS, KvmH.kvm_xcrs.SIZE)));
        if (features.xsaveBytes() > KvmH.kvm_xsave.SIZE) {
            out.add(entry(c, "xsave", vcpu.get(KvmH.KVM_GET_XSAVE2, features.xsaveBytes())));
        } else if (features.xsaveBytes() == KvmH.kvm_xsave.SIZE) {
            out.add(entry(c, "xsave", vcpu.get(KvmH.KVM_GET_XSAVE, KvmH.kvm_xsave.SIZE)));
        } else {
            out.add(entry(c, "fpu", vcpu.get(KvmH.KVM_GET_FPU, KvmH.kvm_fpu.SIZE)));
        }
        int[] msrs = savableMsrs();
        long[] values = new long[msrs.length];
        int n = vcpu.getMsrs(msrs, values);
        if (n != msrs.length) {
            throw new IllegalStateException("vCPU " + c + ": KVM_GET_MSRS read " + n + " of " + msrs.length
                    + " MSRs; stopped at MSR 0x" + Integer.toHexString(msrs[n]));
        }
        out.add(entry(c, "msrs", KvmStateFormat.encodeMsrs(msrs, values)));
        out.add(entry(c, "mp_state", vcpu.get(KvmH.KVM_GET_MP_STATE, KvmH.kvm_mp_state.SIZE)));
        out.add(entry(c, "lapic", vcpu.get(KvmH.KVM_GET_LAPIC, KvmH.kvm_lapic_state.SIZE)));
        if (features.debugregs()) out.add(entry(c, "debugregs", vcpu.get(KvmH.KVM_GET_DEBUGREGS, KvmH.kvm_debugregs.SIZE)));
        out.add(entry(c, "events", vcpu.get(KvmH.KVM_GET_VCPU_EVENTS, KvmH.kvm_vcpu_events.SIZE)));
        return out;
    }

    /** Restores this vCPU's entries of {@code state}, in the order of the class comment. */
    public void restore(MachineState state) {
        int c = vcpu.id();
        if (has(state, name(c, "sregs2"))) {
            if (!features.sregs2()) throw new IllegalArgumentException("state has " + name(c, "sregs2") + " but this KVM lacks KVM_CAP_SREGS2");
            byte[] sregs2 = unwrap(state.entry(name(c, "sregs2")), KvmH.kvm_sregs2.SIZE, 0);
            try {
                vcpu.set(KvmH.KVM_SET_SREGS2, sregs2);
            } catch (io.livemig.sys.SyscallException e) {
                // EINVAL names no field: say what KVM checks (mode bits, CR0/CR4 validity, APIC base, flags).
                throw new io.livemig.sys.SyscallException(e.call() + " with " + describeSregs2(sregs2), e.errno());
            }
        } else {
            vcpu.set(KvmH.KVM_SET_SREGS, unwrap(state.entry(name(c, "sregs")), KvmH.kvm_sregs.SIZE, 0));
        }
        vcpu.set(KvmH.KVM_SET_REGS, unwrap(state.entry(name(c, "regs")), KvmH.kvm_regs.SIZE, 0));
        if (has(state, name(c, "xcrs"))) {
            if (!features.xcrs()) throw new IllegalArgumentException("state has " + name(c, "xcrs") + " but this KVM lacks KVM_CAP_XCRS");
            vcpu.set(KvmH.KVM_SET_XCRS, unwrap(state.entry(name(c, "xcrs")), KvmH.kvm_xcrs.SIZE, 0));
        }
        if (has(state, name(c, "xsave"))) {
            byte[] x = unwrap(state.entry(name(c, "xsave")), -1, KvmH.kvm_xsave.SIZE);
            if (features.xsaveBytes() == 0) throw new IllegalArgumentException("state has " + name(c, "xsave") + " but this KVM lacks KVM_CAP_XSAVE");
            if (x.length > Math.max(features.xsaveBytes(), KvmH.kvm_xsave.SIZE)) {
                throw new IllegalArgumentException("state entry '" + name(c, "xsave") + "': size=" + x.length
                        + " bytes, expected <= " + features.xsaveBytes() + " (KVM_CAP_XSAVE2 here)");
            }
            // KVM_SET_XSAVE reads KVM_CAP_XSAVE2 bytes; a smaller image (from a host with fewer features) is zero-padded.
            vcpu.set(KvmH.KVM_SET_XSAVE, Arrays.copyOf(x, (int) Math.max(features.xsaveBytes(), KvmH.kvm_xsave.SIZE)));
        } else {
            vcpu.set(KvmH.KVM_SET_FPU, unwrap(state.entry(name(c, "fpu")), KvmH.kvm_fpu.SIZE, 0));
        }
        long[][] msrs = KvmStateFormat.decodeMsrs(name(c, "msrs"), unwrap(state.entry(name(c, "msrs")), -1, KvmH.kvm_msrs.SIZE));
        List<Integer> idx = new ArrayList<>();
        List<Long> val = new ArrayList<>();
        long tscDeadline = -1;
        boolean hasDeadline = false;
        for (int i = 0; i < msrs[0].length; i++) {
            if (msrs[0][i] == MSR_IA32_TSC_DEADLINE) {
                hasDeadline = true;
                tscDeadline = msrs[1][i];
            } else {
                idx.add((int) msrs[0][i]);
                val.add(msrs[1][i]);
            }
        }
        setMsrsOrThrow(idx.stream().mapToInt(Integer::intValue).toArray(), val.stream().mapToLong(Long::longValue).toArray());
        vcpu.set(KvmH.KVM_SET_MP_STATE, unwrap(state.entry(name(c, "mp_state")), KvmH.kvm_mp_state.SIZE, 0));
        vcpu.set(KvmH.KVM_SET_LAPIC, unwrap(state.entry(name(c, "lapic")), KvmH.kvm_lapic_state.SIZE, 0));
        if (hasDeadline) setMsrsOrThrow(new int[] {MSR_IA32_TSC_DEADLINE}, new long[] {tscDeadline});
        if (has(state, name(c, "debugregs"))) {
            vcpu.set(KvmH.KVM_SET_DEBUGREGS, unwrap(state.entry(name(c, "debugregs")), KvmH.kvm_debugregs.SIZE, 0));
        }
        byte[] events = unwrap(state.entry(name(c, "events")), KvmH.kvm_vcpu_events.SIZE, 0);
        markEventsValid(events);
        vcpu.set(KvmH.KVM_SET_VCPU_EVENTS, events);
    }

    /** ORs NMI_PENDING | SIPI_VECTOR into {@code kvm_vcpu_events.flags} (GET does not set them; SET needs them). */
    static void markEventsValid(byte[] events) {
        var s = java.lang.foreign.MemorySegment.ofArray(events);
        var le32 = java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        int flags = s.get(le32, KvmH.kvm_vcpu_events.flags);
        s.set(le32, KvmH.kvm_vcpu_events.flags, flags | KvmH.KVM_VCPUEVENT_VALID_NMI_PENDING | KvmH.KVM_VCPUEVENT_VALID_SIPI_VECTOR);
    }

    private void setMsrsOrThrow(int[] idx, long[] val) {
        if (idx.length == 0) return;
        int n = vcpu.setMsrs(idx, val);
        if (n != idx.length) {
            throw new IllegalStateException("vCPU " + vcpu.id() + ": KVM_SET_MSRS wrote " + n + " of " + idx.length
                    + " MSRs; KVM refused MSR 0x" + Integer.toHexString(idx[n]) + " = 0x" + Long.toHexString(val[n]));
        }
    }

    private static boolean has(MachineState state, String name) {
        for (MachineState.Entry e : state.entries()) if (e.name().equals(name)) return true;
        return false;
    }

    private static MachineState.Entry entry(int cpu, String part, byte[] raw) {
        return new MachineState.Entry(name(cpu, part), wrap(raw));
    }

    /** The fields KVM_SET_SREGS2 validates, for error messages. */
    static String describeSregs2(byte[] b) {
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long cs = KvmH.kvm_sregs2.cs;
        return String.format("sregs2: cr0=0x%x cr3=0x%x cr4=0x%x efer=0x%x apic_base=0x%x flags=0x%x"
                        + " cs.sel=0x%x cs.l=%d cs.db=%d",
                bb.getLong((int) KvmH.kvm_sregs2.cr0), bb.getLong((int) KvmH.kvm_sregs2.cr3),
                bb.getLong((int) KvmH.kvm_sregs2.cr4), bb.getLong((int) KvmH.kvm_sregs2.efer),
                bb.getLong((int) KvmH.kvm_sregs2.apic_base), bb.getLong((int) KvmH.kvm_sregs2.flags),
                bb.getShort((int) (cs + KvmH.kvm_segment.selector)) & 0xFFFF, b[(int) (cs + KvmH.kvm_segment.l)],
                b[(int) (cs + KvmH.kvm_segment.db)]);
    }

    private static final long CR0_PE = 1L, CR0_NW = 1L << 29, CR0_CD = 1L << 30, CR0_PG = 1L << 31;
    private static final long CR4_PAE = 1L << 5, EFER_LME = 1L << 8, EFER_LMA = 1L << 10;

    /**
     * The mode checks KVM_SET_SREGS2 applies (kvm_is_valid_sregs, kvm_is_valid_cr0 in arch/x86/kvm/x86.c),
     * or null when they pass. Seen in the nested-KVM test VM (QEMU TCG emulating SVM): a state with the
     * L1 host's CR0/CR3/CS (0x80050033, long-mode CS 0x10) next to the guest's CR4 = EFER = 0.
     */
    static String sregs2Inconsistency(byte[] b) {
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long cr0 = bb.getLong((int) KvmH.kvm_sregs2.cr0);
        long cr4 = bb.getLong((int) KvmH.kvm_sregs2.cr4);
        long efer = bb.getLong((int) KvmH.kvm_sregs2.efer);
        boolean csL = b[(int) (KvmH.kvm_sregs2.cs + KvmH.kvm_segment.l)] != 0;
        if ((cr0 >>> 32) != 0) return "CR0 has bits above 31";
        if ((cr0 & CR0_NW) != 0 && (cr0 & CR0_CD) == 0) return "CR0.NW without CR0.CD";
        if ((cr0 & CR0_PG) != 0 && (cr0 & CR0_PE) == 0) return "CR0.PG without CR0.PE";
        if ((efer & EFER_LME) != 0 && (cr0 & CR0_PG) != 0) {
            if ((cr4 & CR4_PAE) == 0) return "long mode paging without CR4.PAE";
            if ((efer & EFER_LMA) == 0) return "EFER.LME and CR0.PG without EFER.LMA";
        } else if ((efer & EFER_LMA) != 0 || csL) {
            return (csL ? "a 64-bit code segment (CS.L=1)" : "EFER.LMA") + " outside long mode";
        }
        return null;
    }
}
