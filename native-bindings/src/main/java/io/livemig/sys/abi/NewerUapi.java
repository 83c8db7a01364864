package io.livemig.sys.abi;

import io.livemig.sys.Ioctl;

/**
 * HAND-WRITTEN: kernel uAPI that livemig uses but the installed Linux 6.1 uAPI headers do not have yet, so
 * {@code native-bindings/gen/generate.sh} cannot take it from a C compiler. Every constant names the kernel
 * release that introduced it and the header it comes from; values and layouts were copied from the upstream
 * headers. Callers must treat each of them as optional and probe the running kernel first (UFFDIO_API
 * features, KVM_CHECK_EXTENSION, VFIO_DEVICE_FEATURE_PROBE, or the ioctl failing with EINVAL/ENOTTY).
 *
 * <p>Checked two ways: {@code NewerUapiKernelTest} exercises the userfaultfd, PAGEMAP_SCAN and memfd parts
 * against the running kernel, and {@code AbiGoldenTest} compares every entry the probe finds in the
 * installed headers (the probe's {@code check} mode prints a {@code NewerUapi.*} line for each macro that
 * is defined), so moving to newer headers turns this class into checked values automatically. KVM and
 * VFIO entries cannot be exercised on a host without /dev/kvm or a migratable VFIO device.
 *
 * <p>Same conventions as the generated classes: nested classes are C structs with {@code SIZE} and member
 * offsets, ioctl codes are computed by {@link Ioctl} from direction, type, number and the struct's SIZE.
 */
public final class NewerUapi {
    private NewerUapi() {
    }

    // ---- linux/userfaultfd.h -------------------------------------------------------------------------

    /** Linux 6.3, linux/userfaultfd.h: UFFDIO_CONTINUE maps the page write-protected. */
    public static final long UFFDIO_CONTINUE_MODE_WP = 1L << 1;
    /** Linux 6.4, linux/userfaultfd.h: uffd-wp also protects unpopulated (none) PTEs of anonymous memory. */
    public static final long UFFD_FEATURE_WP_UNPOPULATED = 1L << 13;
    /** Linux 6.6, linux/userfaultfd.h: UFFDIO_POISON is available. */
    public static final long UFFD_FEATURE_POISON = 1L << 14;
    /** Linux 6.7, linux/userfaultfd.h: write faults on uffd-wp ranges are resolved by the kernel (no message). */
    public static final long UFFD_FEATURE_WP_ASYNC = 1L << 15;
    /** Linux 6.8, linux/userfaultfd.h: UFFDIO_MOVE is available. */
    public static final long UFFD_FEATURE_MOVE = 1L << 16;

    /** Linux 6.8, linux/userfaultfd.h: ioctl number of UFFDIO_MOVE (bit position in uffdio_*.ioctls). */
    public static final int _UFFDIO_MOVE = 0x05;
    /** Linux 6.6, linux/userfaultfd.h: ioctl number of UFFDIO_POISON (bit position in uffdio_*.ioctls). */
    public static final int _UFFDIO_POISON = 0x08;

    /** Linux 6.8, linux/userfaultfd.h. */
    public static final long UFFDIO_MOVE_MODE_DONTWAKE = 1L << 0;
    /** Linux 6.8, linux/userfaultfd.h: holes in the source count as moved instead of failing with ENOENT. */
    public static final long UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES = 1L << 1;
    /** Linux 6.6, linux/userfaultfd.h. */
    public static final long UFFDIO_POISON_MODE_DONTWAKE = 1L << 0;

    /** {@code struct uffdio_move} (Linux 6.8, linux/userfaultfd.h); move receives bytes moved or -errno. */
    public static final class uffdio_move {
        private uffdio_move() {
        }

        public static final long SIZE = 40;
        public static final long dst = 0;
        public static final long src = 8;
        public static final long len = 16;
        public static final long mode = 24;
        public static final long move = 32;
    }

    /** {@code struct uffdio_poison} (Linux 6.6, linux/userfaultfd.h); updated receives bytes poisoned or -errno. */
    public static final class uffdio_poison {
        private uffdio_poison() {
        }

        public static final long SIZE = 32;
        public static final long range = 0;
        public static final long range_start = 0;
        public static final long range_len = 8;
        public static final long mode = 16;
        public static final long updated = 24;
    }

    /** Linux 6.8, linux/userfaultfd.h: {@code _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)}. */
    public static final Ioctl UFFDIO_MOVE = Ioctl.iowr("UFFDIO_MOVE", UserfaultfdH.UFFDIO, _UFFDIO_MOVE,
            uffdio_move.SIZE);
    /** Linux 6.6, linux/userfaultfd.h: {@code _IOWR(UFFDIO, _UFFDIO_POISON, struct uffdio_poison)}. */
    public static final Ioctl UFFDIO_POISON = Ioctl.iowr("UFFDIO_POISON", UserfaultfdH.UFFDIO, _UFFDIO_POISON,
            uffdio_poison.SIZE);

    // ---- linux/fs.h: PAGEMAP_SCAN on /proc/<pid>/pagemap ----------------------------------------------

    /**
     * linux/fs.h: ioctl type of the procfs ioctls ({@code 'f'}). PAGEMAP_SCAN has used {@code 'f'} since
     * Linux 6.7; the macro name PROCFS_IOCTL_MAGIC was added with PROCMAP_QUERY in Linux 6.11.
     */
    public static final int PROCFS_IOCTL_MAGIC = 'f';

    /** Linux 6.7, linux/fs.h: page categories (page_region.categories and the pm_scan_arg masks, 64-bit). */
    public static final long PAGE_IS_WPALLOWED = 1L << 0;
    /** Linux 6.7, linux/fs.h: written since the range was last write-protected (uffd-wp async). */
    public static final long PAGE_IS_WRITTEN = 1L << 1;
    /** Linux 6.7, linux/fs.h. */
    public static final long PAGE_IS_FILE = 1L << 2;
    /** Linux 6.7, linux/fs.h. */
    public static final long PAGE_IS_PRESENT = 1L << 3;
    /** Linux 6.7, linux/fs.h. */
    public static final long PAGE_IS_SWAPPED = 1L << 4;
    /** Linux 6.7, linux/fs.h. */
    public static final long PAGE_IS_PFNZERO = 1L << 5;
    /** Linux 6.7, linux/fs.h. */
    public static final long PAGE_IS_HUGE = 1L << 6;
    /** Linux 6.7, linux/fs.h. */
    public static final long PAGE_IS_SOFT_DIRTY = 1L << 7;
    /** Linux 6.14, linux/fs.h: a guard region installed with MADV_GUARD_INSTALL. */
    public static final long PAGE_IS_GUARD = 1L << 8;

    /** Linux 6.7, linux/fs.h: write-protect the pages that matched (pm_scan_arg.flags, 64-bit). */
    public static final long PM_SCAN_WP_MATCHING = 1L << 0;
    /** Linux 6.7, linux/fs.h: fail with EPERM when a page of the range is not registered uffd-wp async. */
    public static final long PM_SCAN_CHECK_WPASYNC = 1L << 1;

    /** {@code struct page_region} (Linux 6.7, linux/fs.h): one run of pages with the same categories. */
    public static final class page_region {
        private page_region() {
        }

        public static final long SIZE = 24;
        public static final long start = 0;
        public static final long end = 8;
        public static final long categories = 16;
    }

    /**
     * {@code struct pm_scan_arg} (Linux 6.7, linux/fs.h). size must hold SIZE; vec points at vec_len
     * page_region entries; walk_end receives where the walk stopped.
     */
    public static final class pm_scan_arg {
        private pm_scan_arg() {
        }

        public static final long SIZE = 96;
        public static final long size = 0;
        public static final long flags = 8;
        public static final long start = 16;
        public static final long end = 24;
        public static final long walk_end = 32;
        public static final long vec = 40;
        public static final long vec_len = 48;
        public static final long max_pages = 56;
        public static final long category_inverted = 64;
        public static final long category_mask = 72;
        public static final long category_anyof_mask = 80;
        public static final long return_mask = 88;
    }

    /** Linux 6.7, linux/fs.h: {@code _IOWR('f', 16, struct pm_scan_arg)}; returns the number of regions filled. */
    public static final Ioctl PAGEMAP_SCAN = Ioctl.iowr("PAGEMAP_SCAN", PROCFS_IOCTL_MAGIC, 16, pm_scan_arg.SIZE);

    // ---- asm-generic/mman-common.h, linux/memfd.h, linux/fcntl.h --------------------------------------

    /** Linux 6.13, asm-generic/mman-common.h: madvise advice installing guard PTEs (accesses get SIGSEGV). */
    public static final int MADV_GUARD_INSTALL = 102;
    /** Linux 6.13, asm-generic/mman-common.h. */
    public static final int MADV_GUARD_REMOVE = 103;
    /** Linux 6.3, linux/memfd.h: memfd that can never be made executable (implies F_SEAL_EXEC). */
    public static final int MFD_NOEXEC_SEAL = 0x0008;
    /** Linux 6.3, linux/memfd.h. */
    public static final int MFD_EXEC = 0x0010;
    /** Linux 6.3, linux/fcntl.h: seal preventing chmod of the exec bits. */
    public static final int F_SEAL_EXEC = 0x0020;

    // ---- linux/vfio.h: migration v2 precopy -----------------------------------------------------------

    /** Linux 6.2, linux/vfio.h: vfio_device_feature_migration.flags bit for PRE_COPY support (64-bit). */
    public static final long VFIO_MIGRATION_PRE_COPY = 1L << 2;
    /** Linux 6.2, linux/vfio.h: enum vfio_device_mig_state. */
    public static final int VFIO_DEVICE_STATE_PRE_COPY = 6;
    /** Linux 6.2, linux/vfio.h: enum vfio_device_mig_state. */
    public static final int VFIO_DEVICE_STATE_PRE_COPY_P2P = 7;
    /** Linux 6.3, linux/vfio.h: VFIO_DEVICE_FEATURE GET of the estimated STOP_COPY data length. */
    public static final int VFIO_DEVICE_FEATURE_MIG_DATA_SIZE = 9;

    /** {@code struct vfio_precopy_info} (Linux 6.2, linux/vfio.h): VFIO_MIG_GET_PRECOPY_INFO on the data fd. */
    public static final class vfio_precopy_info {
        private vfio_precopy_info() {
        }

        public static final long SIZE = 24;
        public static final long argsz = 0;
        public static final long flags = 4;
        public static final long initial_bytes = 8;
        public static final long dirty_bytes = 16;
    }

    /** {@code struct vfio_device_feature_mig_data_size} (Linux 6.3, linux/vfio.h). */
    public static final class vfio_device_feature_mig_data_size {
        private vfio_device_feature_mig_data_size() {
        }

        public static final long SIZE = 8;
        public static final long stop_copy_length = 0;
    }

    /** Linux 6.2, linux/vfio.h: {@code _IO(VFIO_TYPE, VFIO_BASE + 21)} (VFIO encodes no size). */
    public static final Ioctl VFIO_MIG_GET_PRECOPY_INFO = Ioctl.io("VFIO_MIG_GET_PRECOPY_INFO", VfioH.VFIO_TYPE,
            VfioH.VFIO_BASE + 21);

    // ---- linux/kvm.h --------------------------------------------------------------------------------

    /** Linux 6.3, linux/kvm.h: the dirty ring needs a dirty bitmap as well (arm64, not x86 today). */
    public static final int KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP = 225;
    /** Linux 6.8, linux/kvm.h: KVM_SET_USER_MEMORY_REGION2 is available. */
    public static final int KVM_CAP_USER_MEMORY2 = 231;
    /** Linux 6.8, linux/kvm.h: KVM fills kvm_run.memory_fault on some -EFAULT/-EHWPOISON returns of KVM_RUN. */
    public static final int KVM_CAP_MEMORY_FAULT_INFO = 232;
    /** Linux 6.8, linux/kvm.h: exit reason for kvm_run.memory_fault. */
    public static final int KVM_EXIT_MEMORY_FAULT = 39;
    /** Linux 6.8, linux/kvm.h: kvm_run.memory_fault.flags bit: the access was to private (guest_memfd) memory. */
    public static final long KVM_MEMORY_EXIT_FLAG_PRIVATE = 1L << 3;
    /** Linux 6.8, linux/kvm.h: kvm_userspace_memory_region2.flags bit. */
    public static final int KVM_MEM_GUEST_MEMFD = 1 << 2;

    /** Members of {@code struct kvm_run} newer than 6.1 (the rest is in {@link KvmH.kvm_run}). */
    public static final class kvm_run {
        private kvm_run() {
        }

        /** Linux 6.8: union member memory_fault {flags, gpa, size}, at the start of the exit union. */
        public static final long memory_fault_flags = KvmH.kvm_run.hw_hardware_exit_reason;
        public static final long memory_fault_gpa = KvmH.kvm_run.hw_hardware_exit_reason + 8;
        public static final long memory_fault_size = KvmH.kvm_run.hw_hardware_exit_reason + 16;
    }

    /** {@code struct kvm_userspace_memory_region2} (Linux 6.8, linux/kvm.h). */
    public static final class kvm_userspace_memory_region2 {
        private kvm_userspace_memory_region2() {
        }

        public static final long SIZE = 160;
        public static final long slot = 0;
        public static final long flags = 4;
        public static final long guest_phys_addr = 8;
        public static final long memory_size = 16;
        public static final long userspace_addr = 24;
        public static final long guest_memfd_offset = 32;
        public static final long guest_memfd = 40;
        public static final long pad1 = 44;
        public static final long pad2 = 48;
        public static final long pad2_LEN = 14;
    }

    /** Linux 6.8, linux/kvm.h: {@code _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)}. */
    public static final Ioctl KVM_SET_USER_MEMORY_REGION2 = Ioctl.iow("KVM_SET_USER_MEMORY_REGION2", KvmH.KVMIO, 0x49,
            kvm_userspace_memory_region2.SIZE);
}
