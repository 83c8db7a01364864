/**
 * The KVM backend: guests on {@code /dev/kvm} through FFM ioctls (all native calls go through
 * {@code io.livemig.sys.LibC}; every kernel number comes from the generated {@code io.livemig.sys.abi.KvmH}).
 *
 * <h2>Ownership (rust-vmm style)</h2>
 * {@link io.livemig.kvm.hw.Kvm} (the /dev/kvm fd) creates {@link io.livemig.kvm.hw.Vm}s (a VM fd: slots, LAPIC,
 * dirty log, dirty ring, clock), which create {@link io.livemig.kvm.hw.Vcpu}s (a vCPU fd, its kvm_run and dirty-ring
 * mappings). Each is AutoCloseable and releases its fd/mappings exactly once. Per-call scratch memory comes from
 * a confined Arena. {@link io.livemig.kvm.hw.KvmMachine} owns one of each chain and implements
 * {@link io.livemig.kvm.GuestMachine} ({@code "kvm"}).
 *
 * <h2>Threads</h2>
 * One platform thread per vCPU runs KVM_RUN; the control thread pauses it with {@link io.livemig.kvm.hw.KickSignal}
 * (immediate_exit + a real-time signal blocked outside KVM_RUN). Dirty rings are harvested by the migration thread
 * and, on KVM_EXIT_DIRTY_RING_FULL, by the vCPU thread itself, serialised per ring.
 *
 * <h2>Pure parts (tested without /dev/kvm)</h2>
 * {@link io.livemig.kvm.hw.X86Asm}, {@link io.livemig.kvm.hw.AbBootSector}, {@link io.livemig.kvm.hw.IdleGuest},
 * {@link io.livemig.kvm.hw.ScriptedGuestCode} (machine code, cross-checked with objdump and booted under QEMU TCG),
 * {@link io.livemig.kvm.hw.MemorySlotPlan} (slot layout and validation), {@link io.livemig.kvm.hw.DirtyLogMath},
 * {@link io.livemig.kvm.hw.DirtyRingHarvester} (ring consumer against a model of KVM's producer),
 * {@link io.livemig.kvm.hw.KvmStateFormat} / {@link io.livemig.kvm.hw.InitialState} (state bytes).
 */
package io.livemig.kvm.hw;
