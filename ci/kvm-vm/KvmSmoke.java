// Single-file FFM smoke test for /dev/kvm, independent of livemig's own classes.
// Run: java --enable-native-access=ALL-UNNAMED ci/kvm-vm/KvmSmoke.java
// Opens /dev/kvm, checks KVM_GET_API_VERSION == 12 and the dirty-log capabilities, creates a VM
// with one vCPU and 4 KiB of real-mode code that does `out 0x3f8, al` twice and `hlt`, runs it and
// checks that KVM_RUN returns KVM_EXIT_IO ('K', 'L') and then KVM_EXIT_HLT. Exit code 0 = pass.
import java.lang.foreign.*;
import java.lang.invoke.MethodHandle;
import static java.lang.foreign.ValueLayout.*;

public class KvmSmoke {
    static final long KVM_GET_API_VERSION = 0xAE00, KVM_CREATE_VM = 0xAE01, KVM_CHECK_EXTENSION = 0xAE03,
            KVM_GET_VCPU_MMAP_SIZE = 0xAE04, KVM_SET_USER_MEMORY_REGION = 0x4020AE46L, KVM_CREATE_VCPU = 0xAE41,
            KVM_RUN = 0xAE80, KVM_GET_SREGS = 0x8138AE83L, KVM_SET_SREGS = 0x4138AE84L, KVM_SET_REGS = 0x4090AE82L;
    static final int KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 = 168, KVM_CAP_DIRTY_LOG_RING = 192;
    static final int KVM_EXIT_IO = 2, KVM_EXIT_HLT = 5;
    static final int O_RDWR = 2, O_CLOEXEC = 0x80000, PROT_RW = 3, MAP_SHARED = 1, MAP_ANONYMOUS = 0x20;

    static final Linker L = Linker.nativeLinker();
    static final SymbolLookup C = L.defaultLookup();
    static final StructLayout ERRNO = Linker.Option.captureStateLayout();
    static final MethodHandle OPEN = L.downcallHandle(C.find("open").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), Linker.Option.captureCallState("errno"));
    static final MethodHandle IOCTL = L.downcallHandle(C.find("ioctl").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
            Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(2));
    static final MethodHandle MMAP = L.downcallHandle(C.find("mmap").orElseThrow(),
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));

    static MemorySegment errState;

    static int ioctl(int fd, long req, long arg) throws Throwable {
        int rc = (int) IOCTL.invokeExact(errState, fd, req, arg);
        if (rc < 0) throw new IllegalStateException(String.format("ioctl(%d, %#x) failed: errno %d", fd, req,
                errState.get(JAVA_INT, ERRNO.byteOffset(MemoryLayout.PathElement.groupElement("errno")))));
        return rc;
    }

    public static void main(String[] args) throws Throwable {
        long t0 = System.nanoTime();
        try (Arena arena = Arena.ofConfined()) {
            errState = arena.allocate(ERRNO);
            int kvm = (int) OPEN.invokeExact(errState, arena.allocateFrom("/dev/kvm"), O_RDWR | O_CLOEXEC);
            if (kvm < 0) { System.out.println("open /dev/kvm failed, errno " + errState.get(JAVA_INT, 0)); System.exit(1); }
            int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
            System.out.println("KVM_GET_API_VERSION=" + api);
            System.out.println("KVM_CAP_DIRTY_LOG_RING=" + ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING));
            System.out.println("KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2=" + ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2));
            int vm = ioctl(kvm, KVM_CREATE_VM, 0);
            System.out.println("KVM_CREATE_VM fd=" + vm);

            MemorySegment mem = ((MemorySegment) MMAP.invokeExact(MemorySegment.NULL, 4096L, PROT_RW,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0L)).reinterpret(4096);
            byte[] code = {(byte) 0xba, (byte) 0xf8, 0x03, (byte) 0xb0, 'K', (byte) 0xee, 0x04, 0x01, (byte) 0xee, (byte) 0xf4};
            MemorySegment.copy(code, 0, mem, JAVA_BYTE, 0, code.length);
            MemorySegment region = arena.allocate(32, 8); // struct kvm_userspace_memory_region
            region.set(JAVA_INT, 0, 0);                 // slot
            region.set(JAVA_INT, 4, 0);                 // flags
            region.set(JAVA_LONG, 8, 0x1000);           // guest_phys_addr
            region.set(JAVA_LONG, 16, 4096);            // memory_size
            region.set(JAVA_LONG, 24, mem.address());   // userspace_addr
            ioctl(vm, KVM_SET_USER_MEMORY_REGION, region.address());
            int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
            int runSize = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
            MemorySegment run = ((MemorySegment) MMAP.invokeExact(MemorySegment.NULL, (long) runSize, PROT_RW,
                    MAP_SHARED, vcpu, 0L)).reinterpret(runSize);
            MemorySegment sregs = arena.allocate(312, 8);
            ioctl(vcpu, KVM_GET_SREGS, sregs.address());
            sregs.set(JAVA_LONG, 0, 0);   // cs.base
            sregs.set(JAVA_SHORT, 12, (short) 0); // cs.selector
            ioctl(vcpu, KVM_SET_SREGS, sregs.address());
            MemorySegment regs = arena.allocate(144, 8);
            regs.set(JAVA_LONG, 128, 0x1000); // rip
            regs.set(JAVA_LONG, 136, 2);      // rflags
            ioctl(vcpu, KVM_SET_REGS, regs.address());

            long t1 = System.nanoTime();
            StringBuilder out = new StringBuilder();
            boolean halted = false;
            for (int i = 0; i < 10 && !halted; i++) {
                ioctl(vcpu, KVM_RUN, 0);
                int reason = run.get(JAVA_INT, 8);
                if (reason == KVM_EXIT_IO) {
                    int port = Short.toUnsignedInt(run.get(JAVA_SHORT, 34));
                    long off = run.get(JAVA_LONG, 40);
                    char c = (char) run.get(JAVA_BYTE, off);
                    System.out.printf("KVM_EXIT_IO port=%#x data='%c'%n", port, c);
                    out.append(c);
                } else if (reason == KVM_EXIT_HLT) {
                    System.out.println("KVM_EXIT_HLT");
                    halted = true;
                } else {
                    System.out.println("unexpected exit_reason " + reason);
                    System.exit(2);
                }
            }
            long t2 = System.nanoTime();
            boolean ok = api == 12 && halted && out.toString().equals("KL");
            System.out.printf("KVM_RUN loop %.1f ms, total %.1f ms%n", (t2 - t1) / 1e6, (t2 - t0) / 1e6);
            System.out.println("KvmSmoke " + (ok ? "PASS" : "FAIL"));
            System.exit(ok ? 0 : 3);
        }
    }
}
