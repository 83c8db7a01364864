/*
 * Kernel ABI probe for livemig: the list below is the single description of every constant, struct
 * layout and ioctl that native-bindings exposes in io.livemig.sys.abi. The values come from the C
 * compiler and the installed headers, never from a person.
 *
 *   ./probe gen     records for generate.sh (one per line, TAB separated), which writes the Java classes
 *   ./probe check   "Class.NAME value" lines (constants, struct SIZE, field offsets, _LEN, ioctl codes)
 *                   that AbiGoldenTest compares with the compiled Java classes
 *
 * Build and run: see generate.sh. Only x86-64 Linux is described (the kvm.h part is arch specific).
 * Ioctls are emitted as (dir, type, nr) taken from the C macro with _IOC_DIR/_IOC_TYPE/_IOC_NR, plus the
 * *Java* expression of the argument size (a struct class's SIZE); the probe itself asserts that
 * _IOC_SIZE of the macro equals sizeof of that struct, and the golden test asserts that the code Java
 * computes equals the C macro.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <linux/errqueue.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/ioctl.h>
#include <linux/kvm.h>
#include <linux/magic.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>
#include <linux/vfio.h>
#include <linux/version.h>
#include <linux/mman.h>

/* ---- output machinery ---------------------------------------------------------------------------- */

static int check_mode;
static const char *cur_class;
static const char *cur_struct;
static int errors;

static const char *const JAVA_KEYWORDS[] = {
    "abstract", "assert", "boolean", "break", "byte", "case", "catch", "char", "class", "const",
    "continue", "default", "do", "double", "else", "enum", "extends", "final", "finally", "float",
    "for", "goto", "if", "implements", "import", "instanceof", "int", "interface", "long", "native",
    "new", "package", "private", "protected", "public", "return", "short", "static", "strictfp",
    "super", "switch", "synchronized", "this", "throw", "throws", "transient", "try", "void",
    "volatile", "while", "true", "false", "null", "_", NULL};

/* C member names that are Java keywords get a trailing underscore. */
static const char *jname(const char *c) {
    static char buf[8][128];
    static int slot;
    for (int i = 0; JAVA_KEYWORDS[i]; i++) {
        if (strcmp(c, JAVA_KEYWORDS[i]) == 0) {
            char *b = buf[slot++ % 8];
            snprintf(b, 128, "%s_", c);
            return b;
        }
    }
    return c;
}

static void klass(const char *name, const char *headers, const char *doc) {
    cur_class = name;
    if (!check_mode) printf("class\t%s\t%s\t%s\n", name, headers, doc);
}

static void end_class(void) {
    if (!check_mode) printf("endclass\n");
    cur_class = NULL;
}

static void section(const char *text) {
    if (!check_mode) printf("section\t%s\n", text);
}

/* A Java literal: hex for flag-like values (a power of two, a low mask) and large ones, decimal otherwise. */
static int flag_like(unsigned long long u) {
    return u >= 16 && ((u & (u - 1)) == 0 || (u & (u + 1)) == 0);
}

static void literal(char *out, size_t n, long long v, int is_long) {
    unsigned long long u = is_long ? (unsigned long long) v : (unsigned) (int) v;
    long long sv = is_long ? v : (int) v;
    const char *suffix = is_long ? "L" : "";
    if (sv < 0 && sv > -4096) snprintf(out, n, "%lld%s", sv, suffix);
    else if (sv >= 0 && sv < 65536 && !flag_like(u)) snprintf(out, n, "%lld%s", sv, suffix);
    else snprintf(out, n, "0x%llx%s", u, suffix);
}

/*
 * One constant: a Java int when the C value fits (a 32-bit unsigned C value keeps its bit pattern, as for
 * EPOLLET), else a long; force_long for 64-bit flag sets and magic numbers compared with longs (C macro CL).
 * hex: always print as hex (ioctl types, C macro CH).
 */
static void konst_fmt(const char *name, long long v, size_t csize, int force_long, int hex);

static void konst(const char *name, long long v, size_t csize, int force_long) {
    konst_fmt(name, v, csize, force_long, 0);
}

static void konst_fmt(const char *name, long long v, size_t csize, int force_long, int hex) {
    int is_long = force_long || (csize > 4 && (v < INT_MIN || v > INT_MAX));
    if (csize <= 4 && !force_long) v = (long long) (int) (unsigned) v; /* keep the 32-bit pattern */
    if (check_mode) {
        printf("%s.%s %lld\n", cur_class, name, is_long ? v : (long long) (int) v);
    } else {
        char lit[64];
        if (hex) snprintf(lit, sizeof lit, "0x%02llx%s", (unsigned long long) v, is_long ? "L" : "");
        else literal(lit, sizeof lit, v, is_long);
        printf("const\t%s\t%s\t%s\n", name, is_long ? "long" : "int", lit);
    }
}

#define C(n) konst(#n, (long long) (n), sizeof(n), 0)
#define CL(n) konst(#n, (long long) (n), sizeof(n), 1)
#define CN(jn, n) konst(jn, (long long) (n), sizeof(n), 0)
#define CH(n) konst_fmt(#n, (long long) (n), sizeof(n), 0, 1) /* always hex: ioctl types */

static void struct_begin(const char *ctype, const char *name, size_t size, const char *doc) {
    cur_struct = name;
    if (check_mode) printf("%s.%s.SIZE %zu\n", cur_class, name, size);
    else printf("struct\t%s\t%zu\t%s\t%s\n", name, size, ctype, doc);
}

static void field(const char *name, size_t off) {
    if (check_mode) printf("%s.%s.%s %zu\n", cur_class, cur_struct, jname(name), off);
    else printf("field\t%s\t%zu\n", jname(name), off);
}

static void field_len(const char *name, size_t len) {
    char b[160];
    snprintf(b, sizeof b, "%s_LEN", jname(name));
    if (check_mode) printf("%s.%s.%s %zu\n", cur_class, cur_struct, b, len);
    else printf("len\t%s\t%zu\n", b, len);
}

static void struct_end(void) {
    if (!check_mode) printf("endstruct\n");
    cur_struct = NULL;
}

#define S(s, doc) struct_begin("struct " #s, #s, sizeof(struct s), doc)
#define ST(t, doc) struct_begin(#t, #t, sizeof(t), doc) /* typedef'd types such as siginfo_t */
#define E() struct_end()
#define MEMBER(T, path) (((T *) 0)->path)
/* F: member (or flexible array) offset; FN: nested member path flattened to a Java name. */
#define F(s, m) field(#m, offsetof(struct s, m))
#define FN(s, jn, path) field(jn, offsetof(struct s, path))
#define TF(t, m) field(#m, offsetof(t, m))
/* A: fixed array: offset of element 0 and element count. */
#define A(s, m) do { F(s, m); field_len(#m, sizeof(MEMBER(struct s, m)) / sizeof(MEMBER(struct s, m)[0])); } while (0)
#define AN(s, jn, path) do { FN(s, jn, path); \
        field_len(jn, sizeof(MEMBER(struct s, path)) / sizeof(MEMBER(struct s, path)[0])); } while (0)

/*
 * One ioctl. tname: the Java constant holding the ioctl type (KVMIO ...), tval its C value; jsize: the Java
 * expression of the argument size; csize: the C size it must equal (-1 for _IO requests).
 */
static void ioctl_(const char *name, unsigned long code, const char *tname, unsigned tval, const char *jsize,
                   long csize, int vfio_base) {
    unsigned dir = _IOC_DIR(code), type = _IOC_TYPE(code), nr = _IOC_NR(code), size = _IOC_SIZE(code);
    if (type != tval) {
        fprintf(stderr, "probe: %s type 0x%x, expected %s=0x%x\n", name, type, tname, tval);
        errors++;
    }
    if (csize < 0 ? (dir != _IOC_NONE || size != 0) : (long) size != csize) {
        fprintf(stderr, "probe: %s dir=%u size=%u does not match the declared argument (%s, %ld bytes)\n",
                name, dir, size, jsize, csize);
        errors++;
    }
    if (check_mode) {
        printf("%s.%s %lu\n", cur_class, name, code);
        return;
    }
    const char *factory = dir == _IOC_NONE ? "io" : dir == _IOC_WRITE ? "iow" : dir == _IOC_READ ? "ior" : "iowr";
    char nrs[64];
    if (vfio_base && nr >= VFIO_BASE) snprintf(nrs, sizeof nrs, "VFIO_BASE + %u", nr - VFIO_BASE);
    else snprintf(nrs, sizeof nrs, "0x%02x", nr);
    printf("ioctl\t%s\t%s\t%s\t%s\t%s\t0x%lx\n", name, factory, tname, nrs, csize < 0 ? "-" : jsize, code);
}

#define IO0(n, T) ioctl_(#n, (unsigned long) (n), #T, T, "-", -1, 0)
#define IOS(n, T, s) ioctl_(#n, (unsigned long) (n), #T, T, #s ".SIZE", (long) sizeof(struct s), 0)
#define IOX(n, T, ctype, jexpr) ioctl_(#n, (unsigned long) (n), #T, T, jexpr, (long) sizeof(ctype), 0)
#define VIO0(n) ioctl_(#n, (unsigned long) (n), "VFIO_TYPE", VFIO_TYPE, "-", -1, 1)

/* ---- the ABI ----------------------------------------------------------------------------------------- */

static void kvm(void) {
    klass("KvmH", "linux/kvm.h, asm/kvm.h (x86-64)",
          "KVM uAPI: ioctls, exit reasons, capabilities and the x86-64 vCPU state layouts.");

    section("ioctl type and API version");
    CH(KVMIO); C(KVM_API_VERSION);

    section("exit reasons (kvm_run.exit_reason)");
    C(KVM_EXIT_UNKNOWN); C(KVM_EXIT_EXCEPTION); C(KVM_EXIT_IO); C(KVM_EXIT_HYPERCALL); C(KVM_EXIT_DEBUG);
    C(KVM_EXIT_HLT); C(KVM_EXIT_MMIO); C(KVM_EXIT_IRQ_WINDOW_OPEN); C(KVM_EXIT_SHUTDOWN); C(KVM_EXIT_FAIL_ENTRY);
    C(KVM_EXIT_INTR); C(KVM_EXIT_SET_TPR); C(KVM_EXIT_TPR_ACCESS); C(KVM_EXIT_S390_SIEIC); C(KVM_EXIT_S390_RESET);
    C(KVM_EXIT_DCR); C(KVM_EXIT_NMI); C(KVM_EXIT_INTERNAL_ERROR); C(KVM_EXIT_OSI); C(KVM_EXIT_PAPR_HCALL);
    C(KVM_EXIT_S390_UCONTROL); C(KVM_EXIT_WATCHDOG); C(KVM_EXIT_S390_TSCH); C(KVM_EXIT_EPR);
    C(KVM_EXIT_SYSTEM_EVENT); C(KVM_EXIT_S390_STSI); C(KVM_EXIT_IOAPIC_EOI); C(KVM_EXIT_HYPERV);
    C(KVM_EXIT_ARM_NISV); C(KVM_EXIT_X86_RDMSR); C(KVM_EXIT_X86_WRMSR); C(KVM_EXIT_DIRTY_RING_FULL);
    C(KVM_EXIT_AP_RESET_HOLD); C(KVM_EXIT_X86_BUS_LOCK); C(KVM_EXIT_XEN); C(KVM_EXIT_RISCV_SBI);
    C(KVM_EXIT_RISCV_CSR); C(KVM_EXIT_NOTIFY);
    C(KVM_EXIT_IO_IN); C(KVM_EXIT_IO_OUT);
    C(KVM_INTERNAL_ERROR_EMULATION); C(KVM_INTERNAL_ERROR_SIMUL_EX); C(KVM_INTERNAL_ERROR_DELIVERY_EV);
    C(KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON); C(KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES);
    C(KVM_SYSTEM_EVENT_SHUTDOWN); C(KVM_SYSTEM_EVENT_RESET); C(KVM_SYSTEM_EVENT_CRASH);
    C(KVM_SYSTEM_EVENT_WAKEUP); C(KVM_SYSTEM_EVENT_SUSPEND); C(KVM_SYSTEM_EVENT_SEV_TERM);
    C(KVM_MSR_EXIT_REASON_INVAL); C(KVM_MSR_EXIT_REASON_UNKNOWN); C(KVM_MSR_EXIT_REASON_FILTER);
    C(KVM_NOTIFY_CONTEXT_INVALID);
    C(KVM_RUN_X86_SMM); C(KVM_RUN_X86_BUS_LOCK);

    section("capabilities (KVM_CHECK_EXTENSION, KVM_ENABLE_CAP)");
    C(KVM_CAP_IRQCHIP); C(KVM_CAP_HLT); C(KVM_CAP_MMU_SHADOW_CACHE_CONTROL); C(KVM_CAP_USER_MEMORY);
    C(KVM_CAP_SET_TSS_ADDR); C(KVM_CAP_VAPIC); C(KVM_CAP_EXT_CPUID); C(KVM_CAP_CLOCKSOURCE);
    C(KVM_CAP_NR_VCPUS); C(KVM_CAP_NR_MEMSLOTS); C(KVM_CAP_PIT); C(KVM_CAP_NOP_IO_DELAY);
    C(KVM_CAP_PV_MMU); C(KVM_CAP_MP_STATE); C(KVM_CAP_COALESCED_MMIO); C(KVM_CAP_SYNC_MMU);
    C(KVM_CAP_IOMMU); C(KVM_CAP_DESTROY_MEMORY_REGION_WORKS); C(KVM_CAP_USER_NMI); C(KVM_CAP_SET_GUEST_DEBUG);
    C(KVM_CAP_REINJECT_CONTROL); C(KVM_CAP_IRQ_ROUTING); C(KVM_CAP_IRQ_INJECT_STATUS); C(KVM_CAP_ASSIGN_DEV_IRQ);
    C(KVM_CAP_JOIN_MEMORY_REGIONS_WORKS); C(KVM_CAP_MCE); C(KVM_CAP_IRQFD); C(KVM_CAP_PIT2);
    C(KVM_CAP_SET_BOOT_CPU_ID); C(KVM_CAP_PIT_STATE2); C(KVM_CAP_IOEVENTFD); C(KVM_CAP_SET_IDENTITY_MAP_ADDR);
    C(KVM_CAP_XEN_HVM); C(KVM_CAP_ADJUST_CLOCK); C(KVM_CAP_INTERNAL_ERROR_DATA); C(KVM_CAP_VCPU_EVENTS);
    C(KVM_CAP_S390_PSW); C(KVM_CAP_PPC_SEGSTATE); C(KVM_CAP_HYPERV); C(KVM_CAP_HYPERV_VAPIC);
    C(KVM_CAP_HYPERV_SPIN); C(KVM_CAP_PCI_SEGMENT); C(KVM_CAP_PPC_PAIRED_SINGLES); C(KVM_CAP_INTR_SHADOW);
    C(KVM_CAP_DEBUGREGS); C(KVM_CAP_X86_ROBUST_SINGLESTEP); C(KVM_CAP_PPC_OSI); C(KVM_CAP_PPC_UNSET_IRQ);
    C(KVM_CAP_ENABLE_CAP); C(KVM_CAP_XSAVE); C(KVM_CAP_XCRS); C(KVM_CAP_PPC_GET_PVINFO);
    C(KVM_CAP_PPC_IRQ_LEVEL); C(KVM_CAP_ASYNC_PF); C(KVM_CAP_TSC_CONTROL); C(KVM_CAP_GET_TSC_KHZ);
    C(KVM_CAP_PPC_BOOKE_SREGS); C(KVM_CAP_SPAPR_TCE); C(KVM_CAP_PPC_SMT); C(KVM_CAP_PPC_RMA);
    C(KVM_CAP_MAX_VCPUS); C(KVM_CAP_PPC_HIOR); C(KVM_CAP_PPC_PAPR); C(KVM_CAP_SW_TLB);
    C(KVM_CAP_ONE_REG); C(KVM_CAP_S390_GMAP); C(KVM_CAP_TSC_DEADLINE_TIMER); C(KVM_CAP_S390_UCONTROL);
    C(KVM_CAP_SYNC_REGS); C(KVM_CAP_PCI_2_3); C(KVM_CAP_KVMCLOCK_CTRL); C(KVM_CAP_SIGNAL_MSI);
    C(KVM_CAP_PPC_GET_SMMU_INFO); C(KVM_CAP_S390_COW); C(KVM_CAP_PPC_ALLOC_HTAB); C(KVM_CAP_READONLY_MEM);
    C(KVM_CAP_IRQFD_RESAMPLE); C(KVM_CAP_PPC_BOOKE_WATCHDOG); C(KVM_CAP_PPC_HTAB_FD); C(KVM_CAP_S390_CSS_SUPPORT);
    C(KVM_CAP_PPC_EPR); C(KVM_CAP_ARM_PSCI); C(KVM_CAP_ARM_SET_DEVICE_ADDR); C(KVM_CAP_DEVICE_CTRL);
    C(KVM_CAP_IRQ_MPIC); C(KVM_CAP_PPC_RTAS); C(KVM_CAP_IRQ_XICS); C(KVM_CAP_ARM_EL1_32BIT);
    C(KVM_CAP_SPAPR_MULTITCE); C(KVM_CAP_EXT_EMUL_CPUID); C(KVM_CAP_HYPERV_TIME); C(KVM_CAP_IOAPIC_POLARITY_IGNORED);
    C(KVM_CAP_ENABLE_CAP_VM); C(KVM_CAP_S390_IRQCHIP); C(KVM_CAP_IOEVENTFD_NO_LENGTH); C(KVM_CAP_VM_ATTRIBUTES);
    C(KVM_CAP_ARM_PSCI_0_2); C(KVM_CAP_PPC_FIXUP_HCALL); C(KVM_CAP_PPC_ENABLE_HCALL); C(KVM_CAP_CHECK_EXTENSION_VM);
    C(KVM_CAP_S390_USER_SIGP); C(KVM_CAP_S390_VECTOR_REGISTERS); C(KVM_CAP_S390_MEM_OP); C(KVM_CAP_S390_USER_STSI);
    C(KVM_CAP_S390_SKEYS); C(KVM_CAP_MIPS_FPU); C(KVM_CAP_MIPS_MSA); C(KVM_CAP_S390_INJECT_IRQ);
    C(KVM_CAP_S390_IRQ_STATE); C(KVM_CAP_PPC_HWRNG); C(KVM_CAP_DISABLE_QUIRKS); C(KVM_CAP_X86_SMM);
    C(KVM_CAP_MULTI_ADDRESS_SPACE); C(KVM_CAP_GUEST_DEBUG_HW_BPS); C(KVM_CAP_GUEST_DEBUG_HW_WPS); C(KVM_CAP_SPLIT_IRQCHIP);
    C(KVM_CAP_IOEVENTFD_ANY_LENGTH); C(KVM_CAP_HYPERV_SYNIC); C(KVM_CAP_S390_RI); C(KVM_CAP_SPAPR_TCE_64);
    C(KVM_CAP_ARM_PMU_V3); C(KVM_CAP_VCPU_ATTRIBUTES); C(KVM_CAP_MAX_VCPU_ID); C(KVM_CAP_X2APIC_API);
    C(KVM_CAP_S390_USER_INSTR0); C(KVM_CAP_MSI_DEVID); C(KVM_CAP_PPC_HTM); C(KVM_CAP_SPAPR_RESIZE_HPT);
    C(KVM_CAP_PPC_MMU_RADIX); C(KVM_CAP_PPC_MMU_HASH_V3); C(KVM_CAP_IMMEDIATE_EXIT); C(KVM_CAP_MIPS_VZ);
    C(KVM_CAP_MIPS_TE); C(KVM_CAP_MIPS_64BIT); C(KVM_CAP_S390_GS); C(KVM_CAP_S390_AIS);
    C(KVM_CAP_SPAPR_TCE_VFIO); C(KVM_CAP_X86_DISABLE_EXITS); C(KVM_CAP_ARM_USER_IRQ); C(KVM_CAP_S390_CMMA_MIGRATION);
    C(KVM_CAP_PPC_FWNMI); C(KVM_CAP_PPC_SMT_POSSIBLE); C(KVM_CAP_HYPERV_SYNIC2); C(KVM_CAP_HYPERV_VP_INDEX);
    C(KVM_CAP_S390_AIS_MIGRATION); C(KVM_CAP_PPC_GET_CPU_CHAR); C(KVM_CAP_S390_BPB); C(KVM_CAP_GET_MSR_FEATURES);
    C(KVM_CAP_HYPERV_EVENTFD); C(KVM_CAP_HYPERV_TLBFLUSH); C(KVM_CAP_S390_HPAGE_1M); C(KVM_CAP_NESTED_STATE);
    C(KVM_CAP_ARM_INJECT_SERROR_ESR); C(KVM_CAP_MSR_PLATFORM_INFO); C(KVM_CAP_PPC_NESTED_HV); C(KVM_CAP_HYPERV_SEND_IPI);
    C(KVM_CAP_COALESCED_PIO); C(KVM_CAP_HYPERV_ENLIGHTENED_VMCS); C(KVM_CAP_EXCEPTION_PAYLOAD); C(KVM_CAP_ARM_VM_IPA_SIZE);
    C(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT); C(KVM_CAP_HYPERV_CPUID); C(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2); C(KVM_CAP_PPC_IRQ_XIVE);
    C(KVM_CAP_ARM_SVE); C(KVM_CAP_ARM_PTRAUTH_ADDRESS); C(KVM_CAP_ARM_PTRAUTH_GENERIC); C(KVM_CAP_PMU_EVENT_FILTER);
    C(KVM_CAP_ARM_IRQ_LINE_LAYOUT_2); C(KVM_CAP_HYPERV_DIRECT_TLBFLUSH); C(KVM_CAP_PPC_GUEST_DEBUG_SSTEP); C(KVM_CAP_ARM_NISV_TO_USER);
    C(KVM_CAP_ARM_INJECT_EXT_DABT); C(KVM_CAP_S390_VCPU_RESETS); C(KVM_CAP_S390_PROTECTED); C(KVM_CAP_PPC_SECURE_GUEST);
    C(KVM_CAP_HALT_POLL); C(KVM_CAP_ASYNC_PF_INT); C(KVM_CAP_LAST_CPU); C(KVM_CAP_SMALLER_MAXPHYADDR);
    C(KVM_CAP_S390_DIAG318); C(KVM_CAP_STEAL_TIME); C(KVM_CAP_X86_USER_SPACE_MSR); C(KVM_CAP_X86_MSR_FILTER);
    C(KVM_CAP_ENFORCE_PV_FEATURE_CPUID); C(KVM_CAP_SYS_HYPERV_CPUID); C(KVM_CAP_DIRTY_LOG_RING); C(KVM_CAP_X86_BUS_LOCK_EXIT);
    C(KVM_CAP_PPC_DAWR1); C(KVM_CAP_SET_GUEST_DEBUG2); C(KVM_CAP_SGX_ATTRIBUTE); C(KVM_CAP_VM_COPY_ENC_CONTEXT_FROM);
    C(KVM_CAP_PTP_KVM); C(KVM_CAP_HYPERV_ENFORCE_CPUID); C(KVM_CAP_SREGS2); C(KVM_CAP_EXIT_HYPERCALL);
    C(KVM_CAP_PPC_RPT_INVALIDATE); C(KVM_CAP_BINARY_STATS_FD); C(KVM_CAP_EXIT_ON_EMULATION_FAILURE); C(KVM_CAP_ARM_MTE);
    C(KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM); C(KVM_CAP_VM_GPA_BITS); C(KVM_CAP_XSAVE2); C(KVM_CAP_SYS_ATTRIBUTES);
    C(KVM_CAP_PPC_AIL_MODE_3); C(KVM_CAP_S390_MEM_OP_EXTENSION); C(KVM_CAP_PMU_CAPABILITY); C(KVM_CAP_DISABLE_QUIRKS2);
    C(KVM_CAP_VM_TSC_CONTROL); C(KVM_CAP_SYSTEM_EVENT_DATA); C(KVM_CAP_ARM_SYSTEM_SUSPEND); C(KVM_CAP_S390_PROTECTED_DUMP);
    C(KVM_CAP_X86_TRIPLE_FAULT_EVENT); C(KVM_CAP_X86_NOTIFY_VMEXIT); C(KVM_CAP_VM_DISABLE_NX_HUGE_PAGES); C(KVM_CAP_S390_ZPCI_OP);
    C(KVM_CAP_S390_CPU_TOPOLOGY); C(KVM_CAP_DIRTY_LOG_RING_ACQ_REL);

    section("memory slots, dirty logging, dirty ring");
    C(KVM_MEM_LOG_DIRTY_PAGES); C(KVM_MEM_READONLY);
    C(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE); C(KVM_DIRTY_LOG_INITIALLY_SET);
    C(KVM_DIRTY_LOG_PAGE_OFFSET); C(KVM_PIO_PAGE_OFFSET); C(KVM_COALESCED_MMIO_PAGE_OFFSET);
    C(KVM_DIRTY_GFN_F_DIRTY); C(KVM_DIRTY_GFN_F_RESET); C(KVM_DIRTY_GFN_F_MASK);

    section("vCPU state flags and limits");
    C(KVM_VCPUEVENT_VALID_NMI_PENDING); C(KVM_VCPUEVENT_VALID_SIPI_VECTOR); C(KVM_VCPUEVENT_VALID_SHADOW);
    C(KVM_VCPUEVENT_VALID_SMM); C(KVM_VCPUEVENT_VALID_PAYLOAD); C(KVM_VCPUEVENT_VALID_TRIPLE_FAULT);
    C(KVM_X86_SHADOW_INT_MOV_SS); C(KVM_X86_SHADOW_INT_STI);
    C(KVM_MP_STATE_RUNNABLE); C(KVM_MP_STATE_UNINITIALIZED); C(KVM_MP_STATE_INIT_RECEIVED);
    C(KVM_MP_STATE_HALTED); C(KVM_MP_STATE_SIPI_RECEIVED); C(KVM_MP_STATE_STOPPED); C(KVM_MP_STATE_CHECK_STOP);
    C(KVM_MP_STATE_OPERATING); C(KVM_MP_STATE_LOAD); C(KVM_MP_STATE_AP_RESET_HOLD); C(KVM_MP_STATE_SUSPENDED);
    C(KVM_CLOCK_TSC_STABLE); C(KVM_CLOCK_REALTIME); C(KVM_CLOCK_HOST_TSC);
    C(KVM_NR_INTERRUPTS); C(KVM_MAX_XCRS); C(KVM_APIC_REG_SIZE); C(KVM_IOAPIC_NUM_PINS);
    C(KVM_SREGS2_FLAGS_PDPTRS_VALID);
    C(KVM_CPUID_FLAG_SIGNIFCANT_INDEX); C(KVM_CPUID_FLAG_STATEFUL_FUNC); C(KVM_CPUID_FLAG_STATE_READ_NEXT);
    C(KVM_SYNC_X86_REGS); C(KVM_SYNC_X86_SREGS); C(KVM_SYNC_X86_EVENTS); C(KVM_SYNC_X86_VALID_FIELDS);
    C(KVM_GUESTDBG_ENABLE); C(KVM_GUESTDBG_SINGLESTEP); C(KVM_GUESTDBG_USE_SW_BP); C(KVM_GUESTDBG_USE_HW_BP);
    C(KVM_GUESTDBG_INJECT_DB); C(KVM_GUESTDBG_INJECT_BP); C(KVM_GUESTDBG_BLOCKIRQ);
    C(KVM_X86_QUIRK_LINT0_REENABLED); C(KVM_X86_QUIRK_CD_NW_CLEARED); C(KVM_X86_QUIRK_LAPIC_MMIO_HOLE);
    C(KVM_X86_QUIRK_OUT_7E_INC_RIP); C(KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT); C(KVM_X86_QUIRK_FIX_HYPERCALL_INSN);
    C(KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS);
    C(KVM_X86_DISABLE_EXITS_MWAIT); C(KVM_X86_DISABLE_EXITS_HLT); C(KVM_X86_DISABLE_EXITS_PAUSE);
    C(KVM_X86_DISABLE_EXITS_CSTATE); C(KVM_X86_DISABLE_VALID_EXITS);
    C(KVM_BUS_LOCK_DETECTION_OFF); C(KVM_BUS_LOCK_DETECTION_EXIT);
    C(KVM_X2APIC_API_USE_32BIT_IDS); C(KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK);
    C(KVM_MSR_FILTER_READ); C(KVM_MSR_FILTER_WRITE); C(KVM_MSR_FILTER_DEFAULT_ALLOW); C(KVM_MSR_FILTER_DEFAULT_DENY);
    C(KVM_MSR_FILTER_MAX_RANGES); C(KVM_MSR_FILTER_MAX_BITMAP_SIZE);

    section("interrupt controllers, PIT, routing");
    C(KVM_IRQCHIP_PIC_MASTER); C(KVM_IRQCHIP_PIC_SLAVE); C(KVM_IRQCHIP_IOAPIC); C(KVM_NR_IRQCHIPS);
    C(KVM_PIT_SPEAKER_DUMMY); C(KVM_PIT_FLAGS_HPET_LEGACY); C(KVM_PIT_FLAGS_SPEAKER_DATA_ON);
    C(KVM_IRQ_ROUTING_IRQCHIP); C(KVM_IRQ_ROUTING_MSI);
    C(KVM_IRQFD_FLAG_DEASSIGN); C(KVM_IRQFD_FLAG_RESAMPLE);
    C(KVM_IOEVENTFD_FLAG_DATAMATCH); C(KVM_IOEVENTFD_FLAG_PIO); C(KVM_IOEVENTFD_FLAG_DEASSIGN);

    section("struct layouts");
    S(kvm_run, "Shared vCPU page mapped from the vCPU fd (KVM_GET_VCPU_MMAP_SIZE bytes; this is the struct part).");
    F(kvm_run, request_interrupt_window); F(kvm_run, immediate_exit); F(kvm_run, exit_reason);
    F(kvm_run, ready_for_interrupt_injection); F(kvm_run, if_flag); F(kvm_run, flags); F(kvm_run, cr8);
    F(kvm_run, apic_base);
    FN(kvm_run, "hw_hardware_exit_reason", hw.hardware_exit_reason);
    FN(kvm_run, "fail_entry_hardware_entry_failure_reason", fail_entry.hardware_entry_failure_reason);
    FN(kvm_run, "fail_entry_cpu", fail_entry.cpu);
    FN(kvm_run, "ex_exception", ex.exception); FN(kvm_run, "ex_error_code", ex.error_code);
    FN(kvm_run, "io_direction", io.direction); FN(kvm_run, "io_size", io.size); FN(kvm_run, "io_port", io.port);
    FN(kvm_run, "io_count", io.count); FN(kvm_run, "io_data_offset", io.data_offset);
    FN(kvm_run, "debug_arch_exception", debug.arch.exception); FN(kvm_run, "debug_arch_pc", debug.arch.pc);
    FN(kvm_run, "debug_arch_dr6", debug.arch.dr6); FN(kvm_run, "debug_arch_dr7", debug.arch.dr7);
    FN(kvm_run, "mmio_phys_addr", mmio.phys_addr); AN(kvm_run, "mmio_data", mmio.data);
    FN(kvm_run, "mmio_len", mmio.len); FN(kvm_run, "mmio_is_write", mmio.is_write);
    FN(kvm_run, "hypercall_nr", hypercall.nr); AN(kvm_run, "hypercall_args", hypercall.args);
    FN(kvm_run, "hypercall_ret", hypercall.ret); FN(kvm_run, "hypercall_longmode", hypercall.longmode);
    FN(kvm_run, "tpr_access_rip", tpr_access.rip); FN(kvm_run, "tpr_access_is_write", tpr_access.is_write);
    FN(kvm_run, "internal_suberror", internal.suberror); FN(kvm_run, "internal_ndata", internal.ndata);
    AN(kvm_run, "internal_data", internal.data);
    FN(kvm_run, "emulation_failure_suberror", emulation_failure.suberror);
    FN(kvm_run, "emulation_failure_ndata", emulation_failure.ndata);
    FN(kvm_run, "emulation_failure_flags", emulation_failure.flags);
    FN(kvm_run, "emulation_failure_insn_size", emulation_failure.insn_size);
    AN(kvm_run, "emulation_failure_insn_bytes", emulation_failure.insn_bytes);
    FN(kvm_run, "system_event_type", system_event.type); FN(kvm_run, "system_event_ndata", system_event.ndata);
    FN(kvm_run, "system_event_flags", system_event.flags); AN(kvm_run, "system_event_data", system_event.data);
    FN(kvm_run, "eoi_vector", eoi.vector);
    FN(kvm_run, "msr_error", msr.error); FN(kvm_run, "msr_reason", msr.reason); FN(kvm_run, "msr_index", msr.index);
    FN(kvm_run, "msr_data", msr.data);
    FN(kvm_run, "notify_flags", notify.flags);
    F(kvm_run, kvm_valid_regs); F(kvm_run, kvm_dirty_regs);
    F(kvm_run, s); FN(kvm_run, "s_regs_regs", s.regs.regs); FN(kvm_run, "s_regs_sregs", s.regs.sregs);
    FN(kvm_run, "s_regs_events", s.regs.events);
    E();

    S(kvm_regs, "KVM_GET_REGS / KVM_SET_REGS.");
    F(kvm_regs, rax); F(kvm_regs, rbx); F(kvm_regs, rcx); F(kvm_regs, rdx); F(kvm_regs, rsi); F(kvm_regs, rdi);
    F(kvm_regs, rsp); F(kvm_regs, rbp); F(kvm_regs, r8); F(kvm_regs, r9); F(kvm_regs, r10); F(kvm_regs, r11);
    F(kvm_regs, r12); F(kvm_regs, r13); F(kvm_regs, r14); F(kvm_regs, r15); F(kvm_regs, rip); F(kvm_regs, rflags);
    E();

    S(kvm_segment, "One segment register inside kvm_sregs / kvm_sregs2.");
    F(kvm_segment, base); F(kvm_segment, limit); F(kvm_segment, selector); F(kvm_segment, type);
    F(kvm_segment, present); F(kvm_segment, dpl); F(kvm_segment, db); F(kvm_segment, s); F(kvm_segment, l);
    F(kvm_segment, g); F(kvm_segment, avl); F(kvm_segment, unusable); F(kvm_segment, padding);
    E();

    S(kvm_dtable, "GDT / IDT descriptor inside kvm_sregs / kvm_sregs2.");
    F(kvm_dtable, base); F(kvm_dtable, limit); A(kvm_dtable, padding);
    E();

    S(kvm_sregs, "KVM_GET_SREGS / KVM_SET_SREGS; cs..ldt are kvm_segment, gdt/idt kvm_dtable.");
    F(kvm_sregs, cs); F(kvm_sregs, ds); F(kvm_sregs, es); F(kvm_sregs, fs); F(kvm_sregs, gs); F(kvm_sregs, ss);
    F(kvm_sregs, tr); F(kvm_sregs, ldt); F(kvm_sregs, gdt); F(kvm_sregs, idt); F(kvm_sregs, cr0);
    F(kvm_sregs, cr2); F(kvm_sregs, cr3); F(kvm_sregs, cr4); F(kvm_sregs, cr8); F(kvm_sregs, efer);
    F(kvm_sregs, apic_base); A(kvm_sregs, interrupt_bitmap);
    E();

    S(kvm_sregs2, "KVM_GET_SREGS2 / KVM_SET_SREGS2 (KVM_CAP_SREGS2): kvm_sregs with PDPTRs instead of the interrupt bitmap.");
    F(kvm_sregs2, cs); F(kvm_sregs2, ds); F(kvm_sregs2, es); F(kvm_sregs2, fs); F(kvm_sregs2, gs);
    F(kvm_sregs2, ss); F(kvm_sregs2, tr); F(kvm_sregs2, ldt); F(kvm_sregs2, gdt); F(kvm_sregs2, idt);
    F(kvm_sregs2, cr0); F(kvm_sregs2, cr2); F(kvm_sregs2, cr3); F(kvm_sregs2, cr4); F(kvm_sregs2, cr8);
    F(kvm_sregs2, efer); F(kvm_sregs2, apic_base); F(kvm_sregs2, flags); A(kvm_sregs2, pdptrs);
    E();

    S(kvm_fpu, "KVM_GET_FPU / KVM_SET_FPU (fxsave-like); fpr is 8 x 16 bytes, xmm 16 x 16 bytes.");
    A(kvm_fpu, fpr); F(kvm_fpu, fcw); F(kvm_fpu, fsw); F(kvm_fpu, ftwx); F(kvm_fpu, pad1); F(kvm_fpu, last_opcode);
    F(kvm_fpu, last_ip); F(kvm_fpu, last_dp); A(kvm_fpu, xmm); F(kvm_fpu, mxcsr); F(kvm_fpu, pad2);
    E();

    S(kvm_xsave, "KVM_GET_XSAVE / KVM_SET_XSAVE; KVM_GET_XSAVE2 writes KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) bytes (>= SIZE).");
    A(kvm_xsave, region); F(kvm_xsave, extra);
    E();

    S(kvm_xcr, "One extended control register inside kvm_xcrs.");
    F(kvm_xcr, xcr); F(kvm_xcr, reserved); F(kvm_xcr, value);
    E();

    S(kvm_xcrs, "KVM_GET_XCRS / KVM_SET_XCRS.");
    F(kvm_xcrs, nr_xcrs); F(kvm_xcrs, flags); A(kvm_xcrs, xcrs); A(kvm_xcrs, padding);
    E();

    S(kvm_msr_entry, "One MSR inside kvm_msrs.");
    F(kvm_msr_entry, index); F(kvm_msr_entry, reserved); F(kvm_msr_entry, data);
    E();

    S(kvm_msrs, "KVM_GET_MSRS / KVM_SET_MSRS header; nmsrs kvm_msr_entry follow at entries.");
    F(kvm_msrs, nmsrs); F(kvm_msrs, pad); F(kvm_msrs, entries);
    E();

    S(kvm_msr_list, "KVM_GET_MSR_INDEX_LIST / KVM_GET_MSR_FEATURE_INDEX_LIST header; nmsrs u32 indices follow.");
    F(kvm_msr_list, nmsrs); F(kvm_msr_list, indices);
    E();

    S(kvm_lapic_state, "KVM_GET_LAPIC / KVM_SET_LAPIC: the 1 KiB APIC register page.");
    A(kvm_lapic_state, regs);
    E();

    S(kvm_vcpu_events, "KVM_GET_VCPU_EVENTS / KVM_SET_VCPU_EVENTS.");
    FN(kvm_vcpu_events, "exception_injected", exception.injected); FN(kvm_vcpu_events, "exception_nr", exception.nr);
    FN(kvm_vcpu_events, "exception_has_error_code", exception.has_error_code);
    FN(kvm_vcpu_events, "exception_pending", exception.pending);
    FN(kvm_vcpu_events, "exception_error_code", exception.error_code);
    FN(kvm_vcpu_events, "interrupt_injected", interrupt.injected); FN(kvm_vcpu_events, "interrupt_nr", interrupt.nr);
    FN(kvm_vcpu_events, "interrupt_soft", interrupt.soft); FN(kvm_vcpu_events, "interrupt_shadow", interrupt.shadow);
    FN(kvm_vcpu_events, "nmi_injected", nmi.injected); FN(kvm_vcpu_events, "nmi_pending", nmi.pending);
    FN(kvm_vcpu_events, "nmi_masked", nmi.masked); FN(kvm_vcpu_events, "nmi_pad", nmi.pad);
    F(kvm_vcpu_events, sipi_vector); F(kvm_vcpu_events, flags);
    FN(kvm_vcpu_events, "smi_smm", smi.smm); FN(kvm_vcpu_events, "smi_pending", smi.pending);
    FN(kvm_vcpu_events, "smi_smm_inside_nmi", smi.smm_inside_nmi);
    FN(kvm_vcpu_events, "smi_latched_init", smi.latched_init);
    FN(kvm_vcpu_events, "triple_fault_pending", triple_fault.pending);
    A(kvm_vcpu_events, reserved); F(kvm_vcpu_events, exception_has_payload); F(kvm_vcpu_events, exception_payload);
    E();

    S(kvm_mp_state, "KVM_GET_MP_STATE / KVM_SET_MP_STATE.");
    F(kvm_mp_state, mp_state);
    E();

    S(kvm_debugregs, "KVM_GET_DEBUGREGS / KVM_SET_DEBUGREGS.");
    A(kvm_debugregs, db); F(kvm_debugregs, dr6); F(kvm_debugregs, dr7); F(kvm_debugregs, flags);
    A(kvm_debugregs, reserved);
    E();

    S(kvm_clock_data, "KVM_GET_CLOCK / KVM_SET_CLOCK.");
    F(kvm_clock_data, clock); F(kvm_clock_data, flags); F(kvm_clock_data, pad0); F(kvm_clock_data, realtime);
    F(kvm_clock_data, host_tsc); A(kvm_clock_data, pad);
    E();

    S(kvm_dirty_log, "KVM_GET_DIRTY_LOG: dirty_bitmap is a user pointer (one bit per page of the slot).");
    F(kvm_dirty_log, slot); F(kvm_dirty_log, padding1); F(kvm_dirty_log, dirty_bitmap);
    E();

    S(kvm_clear_dirty_log, "KVM_CLEAR_DIRTY_LOG (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2).");
    F(kvm_clear_dirty_log, slot); F(kvm_clear_dirty_log, num_pages); F(kvm_clear_dirty_log, first_page);
    F(kvm_clear_dirty_log, dirty_bitmap);
    E();

    S(kvm_dirty_gfn, "One dirty ring entry (KVM_CAP_DIRTY_LOG_RING), mmap'd at KVM_DIRTY_LOG_PAGE_OFFSET pages of the vCPU fd.");
    F(kvm_dirty_gfn, flags); F(kvm_dirty_gfn, slot); F(kvm_dirty_gfn, offset);
    E();

    S(kvm_userspace_memory_region, "KVM_SET_USER_MEMORY_REGION.");
    F(kvm_userspace_memory_region, slot); F(kvm_userspace_memory_region, flags);
    F(kvm_userspace_memory_region, guest_phys_addr); F(kvm_userspace_memory_region, memory_size);
    F(kvm_userspace_memory_region, userspace_addr);
    E();

    S(kvm_enable_cap, "KVM_ENABLE_CAP (vm or vCPU fd).");
    F(kvm_enable_cap, cap); F(kvm_enable_cap, flags); A(kvm_enable_cap, args); A(kvm_enable_cap, pad);
    E();

    S(kvm_cpuid_entry2, "One CPUID leaf inside kvm_cpuid2.");
    F(kvm_cpuid_entry2, function); F(kvm_cpuid_entry2, index); F(kvm_cpuid_entry2, flags); F(kvm_cpuid_entry2, eax);
    F(kvm_cpuid_entry2, ebx); F(kvm_cpuid_entry2, ecx); F(kvm_cpuid_entry2, edx); A(kvm_cpuid_entry2, padding);
    E();

    S(kvm_cpuid2, "KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2 header; nent kvm_cpuid_entry2 follow at entries.");
    F(kvm_cpuid2, nent); F(kvm_cpuid2, padding); F(kvm_cpuid2, entries);
    E();

    S(kvm_signal_mask, "KVM_SET_SIGNAL_MASK header; len bytes of kernel sigset (8 on x86-64) follow at sigset.");
    F(kvm_signal_mask, len); F(kvm_signal_mask, sigset);
    E();

    S(kvm_pit_config, "KVM_CREATE_PIT2.");
    F(kvm_pit_config, flags); A(kvm_pit_config, pad);
    E();

    S(kvm_pit_channel_state, "One PIT channel inside kvm_pit_state2.");
    F(kvm_pit_channel_state, count); F(kvm_pit_channel_state, latched_count); F(kvm_pit_channel_state, count_latched);
    F(kvm_pit_channel_state, status_latched); F(kvm_pit_channel_state, status); F(kvm_pit_channel_state, read_state);
    F(kvm_pit_channel_state, write_state); F(kvm_pit_channel_state, write_latch); F(kvm_pit_channel_state, rw_mode);
    F(kvm_pit_channel_state, mode); F(kvm_pit_channel_state, bcd); F(kvm_pit_channel_state, gate);
    F(kvm_pit_channel_state, count_load_time);
    E();

    S(kvm_pit_state2, "KVM_GET_PIT2 / KVM_SET_PIT2.");
    A(kvm_pit_state2, channels); F(kvm_pit_state2, flags); A(kvm_pit_state2, reserved);
    E();

    S(kvm_irqchip, "KVM_GET_IRQCHIP / KVM_SET_IRQCHIP: chip_id selects PIC master/slave or IOAPIC; chip is a 512-byte union.");
    F(kvm_irqchip, chip_id); F(kvm_irqchip, pad); F(kvm_irqchip, chip);
    E();

    S(kvm_irq_level, "KVM_IRQ_LINE / KVM_IRQ_LINE_STATUS.");
    F(kvm_irq_level, irq); F(kvm_irq_level, status); F(kvm_irq_level, level);
    E();

    S(kvm_interrupt, "KVM_INTERRUPT (userspace irqchip only).");
    F(kvm_interrupt, irq);
    E();

    S(kvm_msi, "KVM_SIGNAL_MSI.");
    F(kvm_msi, address_lo); F(kvm_msi, address_hi); F(kvm_msi, data); F(kvm_msi, flags); F(kvm_msi, devid);
    A(kvm_msi, pad);
    E();

    S(kvm_irqfd, "KVM_IRQFD.");
    F(kvm_irqfd, fd); F(kvm_irqfd, gsi); F(kvm_irqfd, flags); F(kvm_irqfd, resamplefd); A(kvm_irqfd, pad);
    E();

    S(kvm_ioeventfd, "KVM_IOEVENTFD.");
    F(kvm_ioeventfd, datamatch); F(kvm_ioeventfd, addr); F(kvm_ioeventfd, len); F(kvm_ioeventfd, fd);
    F(kvm_ioeventfd, flags); A(kvm_ioeventfd, pad);
    E();

    S(kvm_irq_routing_entry, "One route inside kvm_irq_routing; u is a 32-byte union (irqchip: irqchip, pin; msi: address_lo, address_hi, data, devid).");
    F(kvm_irq_routing_entry, gsi); F(kvm_irq_routing_entry, type); F(kvm_irq_routing_entry, flags);
    F(kvm_irq_routing_entry, pad); F(kvm_irq_routing_entry, u);
    FN(kvm_irq_routing_entry, "u_irqchip_irqchip", u.irqchip.irqchip);
    FN(kvm_irq_routing_entry, "u_irqchip_pin", u.irqchip.pin);
    FN(kvm_irq_routing_entry, "u_msi_address_lo", u.msi.address_lo);
    FN(kvm_irq_routing_entry, "u_msi_address_hi", u.msi.address_hi);
    FN(kvm_irq_routing_entry, "u_msi_data", u.msi.data);
    FN(kvm_irq_routing_entry, "u_msi_devid", u.msi.devid);
    E();

    S(kvm_irq_routing, "KVM_SET_GSI_ROUTING header; nr kvm_irq_routing_entry follow at entries.");
    F(kvm_irq_routing, nr); F(kvm_irq_routing, flags); F(kvm_irq_routing, entries);
    E();

    section("ioctls: /dev/kvm");
    IO0(KVM_GET_API_VERSION, KVMIO);
    IO0(KVM_CREATE_VM, KVMIO);
    IO0(KVM_CHECK_EXTENSION, KVMIO);
    IO0(KVM_GET_VCPU_MMAP_SIZE, KVMIO);
    IOS(KVM_GET_SUPPORTED_CPUID, KVMIO, kvm_cpuid2);
    IOS(KVM_GET_EMULATED_CPUID, KVMIO, kvm_cpuid2);
    IOS(KVM_GET_MSR_INDEX_LIST, KVMIO, kvm_msr_list);
    IOS(KVM_GET_MSR_FEATURE_INDEX_LIST, KVMIO, kvm_msr_list);
    section("ioctls: vm fd");
    IO0(KVM_CREATE_VCPU, KVMIO);
    IOS(KVM_SET_USER_MEMORY_REGION, KVMIO, kvm_userspace_memory_region);
    IO0(KVM_SET_TSS_ADDR, KVMIO);
    IOX(KVM_SET_IDENTITY_MAP_ADDR, KVMIO, __u64, "8");
    IO0(KVM_CREATE_IRQCHIP, KVMIO);
    IOS(KVM_GET_IRQCHIP, KVMIO, kvm_irqchip);
    IOS(KVM_SET_IRQCHIP, KVMIO, kvm_irqchip);
    IOS(KVM_IRQ_LINE, KVMIO, kvm_irq_level);
    IOS(KVM_IRQ_LINE_STATUS, KVMIO, kvm_irq_level);
    IOS(KVM_CREATE_PIT2, KVMIO, kvm_pit_config);
    IOS(KVM_GET_PIT2, KVMIO, kvm_pit_state2);
    IOS(KVM_SET_PIT2, KVMIO, kvm_pit_state2);
    IOS(KVM_SET_GSI_ROUTING, KVMIO, kvm_irq_routing);
    IOS(KVM_IRQFD, KVMIO, kvm_irqfd);
    IOS(KVM_IOEVENTFD, KVMIO, kvm_ioeventfd);
    IOS(KVM_SIGNAL_MSI, KVMIO, kvm_msi);
    IOS(KVM_GET_CLOCK, KVMIO, kvm_clock_data);
    IOS(KVM_SET_CLOCK, KVMIO, kvm_clock_data);
    IOS(KVM_GET_DIRTY_LOG, KVMIO, kvm_dirty_log);
    IOS(KVM_CLEAR_DIRTY_LOG, KVMIO, kvm_clear_dirty_log);
    IO0(KVM_RESET_DIRTY_RINGS, KVMIO);
    IOS(KVM_ENABLE_CAP, KVMIO, kvm_enable_cap);
    IO0(KVM_SET_BOOT_CPU_ID, KVMIO);
    IO0(KVM_GET_STATS_FD, KVMIO);
    section("ioctls: vCPU fd");
    IO0(KVM_RUN, KVMIO);
    IOS(KVM_GET_REGS, KVMIO, kvm_regs);
    IOS(KVM_SET_REGS, KVMIO, kvm_regs);
    IOS(KVM_GET_SREGS, KVMIO, kvm_sregs);
    IOS(KVM_SET_SREGS, KVMIO, kvm_sregs);
    IOS(KVM_GET_SREGS2, KVMIO, kvm_sregs2);
    IOS(KVM_SET_SREGS2, KVMIO, kvm_sregs2);
    IOS(KVM_GET_FPU, KVMIO, kvm_fpu);
    IOS(KVM_SET_FPU, KVMIO, kvm_fpu);
    IOS(KVM_GET_XSAVE, KVMIO, kvm_xsave);
    IOS(KVM_SET_XSAVE, KVMIO, kvm_xsave);
    IOS(KVM_GET_XSAVE2, KVMIO, kvm_xsave);
    IOS(KVM_GET_XCRS, KVMIO, kvm_xcrs);
    IOS(KVM_SET_XCRS, KVMIO, kvm_xcrs);
    IOS(KVM_GET_MSRS, KVMIO, kvm_msrs);
    IOS(KVM_SET_MSRS, KVMIO, kvm_msrs);
    IOS(KVM_GET_LAPIC, KVMIO, kvm_lapic_state);
    IOS(KVM_SET_LAPIC, KVMIO, kvm_lapic_state);
    IOS(KVM_GET_VCPU_EVENTS, KVMIO, kvm_vcpu_events);
    IOS(KVM_SET_VCPU_EVENTS, KVMIO, kvm_vcpu_events);
    IOS(KVM_GET_MP_STATE, KVMIO, kvm_mp_state);
    IOS(KVM_SET_MP_STATE, KVMIO, kvm_mp_state);
    IOS(KVM_GET_DEBUGREGS, KVMIO, kvm_debugregs);
    IOS(KVM_SET_DEBUGREGS, KVMIO, kvm_debugregs);
    IOS(KVM_SET_CPUID2, KVMIO, kvm_cpuid2);
    IOS(KVM_GET_CPUID2, KVMIO, kvm_cpuid2);
    IOS(KVM_SET_SIGNAL_MASK, KVMIO, kvm_signal_mask);
    IO0(KVM_SET_TSC_KHZ, KVMIO);
    IO0(KVM_GET_TSC_KHZ, KVMIO);
    IOS(KVM_INTERRUPT, KVMIO, kvm_interrupt);
    IO0(KVM_NMI, KVMIO);
    IO0(KVM_KVMCLOCK_CTRL, KVMIO);
    end_class();
}

static void userfaultfd(void) {
    klass("UserfaultfdH", "linux/userfaultfd.h",
          "userfaultfd(2) uAPI: API handshake, registration modes, resolving ioctls and fault messages.");
    section("ioctl type, API, /dev/userfaultfd");
    CH(UFFDIO); CH(USERFAULTFD_IOC); CL(UFFD_API); C(UFFD_USER_MODE_ONLY);
    CL(UFFD_API_FEATURES); CL(UFFD_API_REGISTER_MODES); CL(UFFD_API_IOCTLS); CL(UFFD_API_RANGE_IOCTLS);
    CL(UFFD_API_RANGE_IOCTLS_BASIC);
    section("ioctl numbers (bit positions in uffdio_api.ioctls / uffdio_register.ioctls)");
    C(_UFFDIO_REGISTER); C(_UFFDIO_UNREGISTER); C(_UFFDIO_WAKE); C(_UFFDIO_COPY); C(_UFFDIO_ZEROPAGE);
    C(_UFFDIO_WRITEPROTECT); C(_UFFDIO_CONTINUE); C(_UFFDIO_API);
    section("features (uffdio_api.features, 64-bit)");
    CL(UFFD_FEATURE_PAGEFAULT_FLAG_WP); CL(UFFD_FEATURE_EVENT_FORK); CL(UFFD_FEATURE_EVENT_REMAP);
    CL(UFFD_FEATURE_EVENT_REMOVE); CL(UFFD_FEATURE_MISSING_HUGETLBFS); CL(UFFD_FEATURE_MISSING_SHMEM);
    CL(UFFD_FEATURE_EVENT_UNMAP); CL(UFFD_FEATURE_SIGBUS); CL(UFFD_FEATURE_THREAD_ID);
    CL(UFFD_FEATURE_MINOR_HUGETLBFS); CL(UFFD_FEATURE_MINOR_SHMEM); CL(UFFD_FEATURE_EXACT_ADDRESS);
    CL(UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
    section("modes (64-bit)");
    CL(UFFDIO_REGISTER_MODE_MISSING); CL(UFFDIO_REGISTER_MODE_WP); CL(UFFDIO_REGISTER_MODE_MINOR);
    CL(UFFDIO_COPY_MODE_DONTWAKE); CL(UFFDIO_COPY_MODE_WP); CL(UFFDIO_ZEROPAGE_MODE_DONTWAKE);
    CL(UFFDIO_WRITEPROTECT_MODE_WP); CL(UFFDIO_WRITEPROTECT_MODE_DONTWAKE); CL(UFFDIO_CONTINUE_MODE_DONTWAKE);
    section("events (uffd_msg.event) and page-fault flags (uffd_msg.arg.pagefault.flags)");
    C(UFFD_EVENT_PAGEFAULT); C(UFFD_EVENT_FORK); C(UFFD_EVENT_REMAP); C(UFFD_EVENT_REMOVE); C(UFFD_EVENT_UNMAP);
    CL(UFFD_PAGEFAULT_FLAG_WRITE); CL(UFFD_PAGEFAULT_FLAG_WP); CL(UFFD_PAGEFAULT_FLAG_MINOR);

    section("struct layouts");
    S(uffd_msg, "One message read(2) from the userfaultfd (packed, 32 bytes).");
    F(uffd_msg, event); F(uffd_msg, reserved1); F(uffd_msg, reserved2); F(uffd_msg, reserved3); F(uffd_msg, arg);
    FN(uffd_msg, "arg_pagefault_flags", arg.pagefault.flags);
    FN(uffd_msg, "arg_pagefault_address", arg.pagefault.address);
    FN(uffd_msg, "arg_pagefault_feat_ptid", arg.pagefault.feat.ptid);
    FN(uffd_msg, "arg_fork_ufd", arg.fork.ufd);
    FN(uffd_msg, "arg_remap_from", arg.remap.from); FN(uffd_msg, "arg_remap_to", arg.remap.to);
    FN(uffd_msg, "arg_remap_len", arg.remap.len);
    FN(uffd_msg, "arg_remove_start", arg.remove.start); FN(uffd_msg, "arg_remove_end", arg.remove.end);
    E();
    S(uffdio_api, "UFFDIO_API handshake.");
    F(uffdio_api, api); F(uffdio_api, features); F(uffdio_api, ioctls);
    E();
    S(uffdio_range, "An address range; nested as 'range' in the other structs.");
    F(uffdio_range, start); F(uffdio_range, len);
    E();
    S(uffdio_register, "UFFDIO_REGISTER.");
    F(uffdio_register, range); FN(uffdio_register, "range_start", range.start);
    FN(uffdio_register, "range_len", range.len); F(uffdio_register, mode); F(uffdio_register, ioctls);
    E();
    S(uffdio_copy, "UFFDIO_COPY; copy receives bytes copied or -errno.");
    F(uffdio_copy, dst); F(uffdio_copy, src); F(uffdio_copy, len); F(uffdio_copy, mode); F(uffdio_copy, copy);
    E();
    S(uffdio_zeropage, "UFFDIO_ZEROPAGE; zeropage receives bytes mapped or -errno.");
    F(uffdio_zeropage, range); FN(uffdio_zeropage, "range_start", range.start);
    FN(uffdio_zeropage, "range_len", range.len); F(uffdio_zeropage, mode); F(uffdio_zeropage, zeropage);
    E();
    S(uffdio_writeprotect, "UFFDIO_WRITEPROTECT.");
    F(uffdio_writeprotect, range); FN(uffdio_writeprotect, "range_start", range.start);
    FN(uffdio_writeprotect, "range_len", range.len); F(uffdio_writeprotect, mode);
    E();
    S(uffdio_continue, "UFFDIO_CONTINUE; mapped receives bytes mapped or -errno.");
    F(uffdio_continue, range); FN(uffdio_continue, "range_start", range.start);
    FN(uffdio_continue, "range_len", range.len); F(uffdio_continue, mode); F(uffdio_continue, mapped);
    E();

    section("ioctls");
    IOS(UFFDIO_API, UFFDIO, uffdio_api);
    IOS(UFFDIO_REGISTER, UFFDIO, uffdio_register);
    IOS(UFFDIO_UNREGISTER, UFFDIO, uffdio_range);
    IOS(UFFDIO_WAKE, UFFDIO, uffdio_range);
    IOS(UFFDIO_COPY, UFFDIO, uffdio_copy);
    IOS(UFFDIO_ZEROPAGE, UFFDIO, uffdio_zeropage);
    IOS(UFFDIO_WRITEPROTECT, UFFDIO, uffdio_writeprotect);
    IOS(UFFDIO_CONTINUE, UFFDIO, uffdio_continue);
    IO0(USERFAULTFD_IOC_NEW, USERFAULTFD_IOC);
    end_class();
}

static void vfio(void) {
    klass("VfioH", "linux/vfio.h",
          "VFIO uAPI: container/group/device basics and migration v2 (device feature, device states).");
    section("ioctl type and API");
    CH(VFIO_TYPE); C(VFIO_BASE); C(VFIO_API_VERSION); C(VFIO_TYPE1_IOMMU); C(VFIO_TYPE1v2_IOMMU);
    C(VFIO_NOIOMMU_IOMMU);
    C(VFIO_GROUP_FLAGS_VIABLE); C(VFIO_GROUP_FLAGS_CONTAINER_SET);
    C(VFIO_DEVICE_FLAGS_RESET); C(VFIO_DEVICE_FLAGS_PCI);
    section("device features (vfio_device_feature.flags)");
    C(VFIO_DEVICE_FEATURE_MASK); C(VFIO_DEVICE_FEATURE_GET); C(VFIO_DEVICE_FEATURE_SET); C(VFIO_DEVICE_FEATURE_PROBE);
    C(VFIO_DEVICE_FEATURE_PCI_VF_TOKEN); C(VFIO_DEVICE_FEATURE_MIGRATION); C(VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE);
    C(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY); C(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP);
    C(VFIO_DEVICE_FEATURE_LOW_POWER_EXIT); C(VFIO_DEVICE_FEATURE_DMA_LOGGING_START);
    C(VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP); C(VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT);
    section("migration v2 (vfio_device_feature_migration.flags, enum vfio_device_mig_state)");
    CL(VFIO_MIGRATION_STOP_COPY); CL(VFIO_MIGRATION_P2P);
    C(VFIO_DEVICE_STATE_ERROR); C(VFIO_DEVICE_STATE_STOP); C(VFIO_DEVICE_STATE_RUNNING);
    C(VFIO_DEVICE_STATE_STOP_COPY); C(VFIO_DEVICE_STATE_RESUMING); C(VFIO_DEVICE_STATE_RUNNING_P2P);

    section("struct layouts");
    S(vfio_device_feature, "VFIO_DEVICE_FEATURE header; the feature's payload follows at data.");
    F(vfio_device_feature, argsz); F(vfio_device_feature, flags); F(vfio_device_feature, data);
    E();
    S(vfio_device_feature_migration, "Payload of VFIO_DEVICE_FEATURE_MIGRATION (GET).");
    F(vfio_device_feature_migration, flags);
    E();
    S(vfio_device_feature_mig_state, "Payload of VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE; data_fd is returned on SET.");
    F(vfio_device_feature_mig_state, device_state); F(vfio_device_feature_mig_state, data_fd);
    E();
    S(vfio_device_info, "VFIO_DEVICE_GET_INFO.");
    F(vfio_device_info, argsz); F(vfio_device_info, flags); F(vfio_device_info, num_regions);
    F(vfio_device_info, num_irqs); F(vfio_device_info, cap_offset);
    E();
    S(vfio_group_status, "VFIO_GROUP_GET_STATUS.");
    F(vfio_group_status, argsz); F(vfio_group_status, flags);
    E();
    S(vfio_region_info, "VFIO_DEVICE_GET_REGION_INFO.");
    F(vfio_region_info, argsz); F(vfio_region_info, flags); F(vfio_region_info, index);
    F(vfio_region_info, cap_offset); F(vfio_region_info, size); F(vfio_region_info, offset);
    E();

    section("ioctls (VFIO encodes no size: all are _IO)");
    VIO0(VFIO_GET_API_VERSION); VIO0(VFIO_CHECK_EXTENSION); VIO0(VFIO_SET_IOMMU); VIO0(VFIO_GROUP_GET_STATUS);
    VIO0(VFIO_GROUP_SET_CONTAINER); VIO0(VFIO_GROUP_UNSET_CONTAINER); VIO0(VFIO_GROUP_GET_DEVICE_FD);
    VIO0(VFIO_DEVICE_GET_INFO); VIO0(VFIO_DEVICE_GET_REGION_INFO); VIO0(VFIO_DEVICE_RESET);
    VIO0(VFIO_DEVICE_FEATURE);
    end_class();
}

static void mman(void) {
    klass("MmanH", "sys/mman.h, linux/mman.h, linux/memfd.h, fcntl.h, linux/falloc.h, unistd.h",
          "Memory mappings, madvise, memfd and file flags (open, fcntl, seals, fallocate, lseek, sysconf).");
    section("mmap / mprotect");
    C(PROT_NONE); C(PROT_READ); C(PROT_WRITE); C(PROT_EXEC);
    C(MAP_SHARED); C(MAP_PRIVATE); C(MAP_SHARED_VALIDATE); C(MAP_FIXED); C(MAP_ANONYMOUS); C(MAP_NORESERVE);
    C(MAP_POPULATE); C(MAP_LOCKED); C(MAP_NONBLOCK); C(MAP_HUGETLB); C(MAP_FIXED_NOREPLACE); C(MAP_SYNC);
    C(MAP_HUGE_SHIFT); C(MAP_HUGE_MASK);
    C(MAP_HUGE_2MB); C(MAP_HUGE_1GB);
    C(MREMAP_MAYMOVE); C(MREMAP_FIXED); C(MREMAP_DONTUNMAP);
    C(MS_ASYNC); C(MS_INVALIDATE); C(MS_SYNC);
    C(MCL_CURRENT); C(MCL_FUTURE); C(MCL_ONFAULT);
    section("madvise");
    C(MADV_NORMAL); C(MADV_RANDOM); C(MADV_SEQUENTIAL); C(MADV_WILLNEED); C(MADV_DONTNEED); C(MADV_FREE);
    C(MADV_REMOVE); C(MADV_DONTFORK); C(MADV_DOFORK); C(MADV_MERGEABLE); C(MADV_UNMERGEABLE); C(MADV_HUGEPAGE);
    C(MADV_NOHUGEPAGE); C(MADV_DONTDUMP); C(MADV_DODUMP); C(MADV_WIPEONFORK); C(MADV_KEEPONFORK); C(MADV_COLD);
    C(MADV_PAGEOUT); C(MADV_POPULATE_READ); C(MADV_POPULATE_WRITE); C(MADV_HWPOISON);
    C(MADV_COLLAPSE);
    section("memfd_create");
    C(MFD_CLOEXEC); C(MFD_ALLOW_SEALING); C(MFD_HUGETLB); C(MFD_HUGE_SHIFT); C(MFD_HUGE_MASK);
    C(MFD_HUGE_2MB); C(MFD_HUGE_1GB);
    section("open / fcntl");
    C(O_RDONLY); C(O_WRONLY); C(O_RDWR); C(O_ACCMODE); C(O_CREAT); C(O_EXCL); C(O_NOCTTY); C(O_TRUNC);
    C(O_APPEND); C(O_NONBLOCK); C(O_DSYNC); C(O_SYNC); C(O_DIRECT); C(O_DIRECTORY); C(O_NOFOLLOW);
    C(O_CLOEXEC); C(O_PATH); C(O_TMPFILE); C(O_NOATIME);
    C(F_DUPFD); C(F_GETFD); C(F_SETFD); C(F_GETFL); C(F_SETFL); C(F_DUPFD_CLOEXEC); C(FD_CLOEXEC);
    C(F_SETPIPE_SZ); C(F_GETPIPE_SZ);
    C(F_ADD_SEALS); C(F_GET_SEALS); C(F_SEAL_SEAL); C(F_SEAL_SHRINK); C(F_SEAL_GROW); C(F_SEAL_WRITE);
    C(F_SEAL_FUTURE_WRITE);
    C(AT_FDCWD);
    section("fallocate, lseek");
    C(FALLOC_FL_KEEP_SIZE); C(FALLOC_FL_PUNCH_HOLE); C(FALLOC_FL_NO_HIDE_STALE); C(FALLOC_FL_COLLAPSE_RANGE);
    C(FALLOC_FL_ZERO_RANGE); C(FALLOC_FL_INSERT_RANGE); C(FALLOC_FL_UNSHARE_RANGE);
    C(SEEK_SET); C(SEEK_CUR); C(SEEK_END); C(SEEK_DATA); C(SEEK_HOLE);
    section("sysconf names");
    C(_SC_PAGESIZE); C(_SC_NPROCESSORS_ONLN); C(_SC_PHYS_PAGES); C(_SC_CLK_TCK);
    end_class();
}

static void errnos(void) {
    klass("ErrnoH", "errno.h (asm-generic/errno-base.h, asm-generic/errno.h)", "errno values.");
    C(EPERM); C(ENOENT); C(ESRCH); C(EINTR); C(EIO); C(ENXIO); C(E2BIG); C(ENOEXEC);
    C(EBADF); C(ECHILD); C(EAGAIN); C(ENOMEM); C(EACCES); C(EFAULT); C(ENOTBLK); C(EBUSY);
    C(EEXIST); C(EXDEV); C(ENODEV); C(ENOTDIR); C(EISDIR); C(EINVAL); C(ENFILE); C(EMFILE);
    C(ENOTTY); C(ETXTBSY); C(EFBIG); C(ENOSPC); C(ESPIPE); C(EROFS); C(EMLINK); C(EPIPE);
    C(EDOM); C(ERANGE); C(EDEADLK); C(ENAMETOOLONG); C(ENOLCK); C(ENOSYS); C(ENOTEMPTY); C(ELOOP);
    C(EWOULDBLOCK); C(ENOMSG); C(EIDRM); C(ECHRNG); C(EL2NSYNC); C(EL3HLT); C(EL3RST); C(ELNRNG);
    C(EUNATCH); C(ENOCSI); C(EL2HLT); C(EBADE); C(EBADR); C(EXFULL); C(ENOANO); C(EBADRQC);
    C(EBADSLT); C(EDEADLOCK); C(EBFONT); C(ENOSTR); C(ENODATA); C(ETIME); C(ENOSR); C(ENONET);
    C(ENOPKG); C(EREMOTE); C(ENOLINK); C(EADV); C(ESRMNT); C(ECOMM); C(EPROTO); C(EMULTIHOP);
    C(EDOTDOT); C(EBADMSG); C(EOVERFLOW); C(ENOTUNIQ); C(EBADFD); C(EREMCHG); C(ELIBACC); C(ELIBBAD);
    C(ELIBSCN); C(ELIBMAX); C(ELIBEXEC); C(EILSEQ); C(ERESTART); C(ESTRPIPE); C(EUSERS); C(ENOTSOCK);
    C(EDESTADDRREQ); C(EMSGSIZE); C(EPROTOTYPE); C(ENOPROTOOPT); C(EPROTONOSUPPORT); C(ESOCKTNOSUPPORT); C(EOPNOTSUPP); C(EPFNOSUPPORT);
    C(EAFNOSUPPORT); C(EADDRINUSE); C(EADDRNOTAVAIL); C(ENETDOWN); C(ENETUNREACH); C(ENETRESET); C(ECONNABORTED); C(ECONNRESET);
    C(ENOBUFS); C(EISCONN); C(ENOTCONN); C(ESHUTDOWN); C(ETOOMANYREFS); C(ETIMEDOUT); C(ECONNREFUSED); C(EHOSTDOWN);
    C(EHOSTUNREACH); C(EALREADY); C(EINPROGRESS); C(ESTALE); C(EUCLEAN); C(ENOTNAM); C(ENAVAIL); C(EISNAM);
    C(EREMOTEIO); C(EDQUOT); C(ENOMEDIUM); C(EMEDIUMTYPE); C(ECANCELED); C(ENOKEY); C(EKEYEXPIRED); C(EKEYREVOKED);
    C(EKEYREJECTED); C(EOWNERDEAD); C(ENOTRECOVERABLE); C(ERFKILL); C(EHWPOISON); C(ENOTSUP);
    end_class();
}

static void signals(void) {
    klass("SignalH", "signal.h, time.h",
          "Signal numbers, sigprocmask how-values, siginfo_t and timespec (sigtimedwait).");
    C(SIG_BLOCK); C(SIG_UNBLOCK); C(SIG_SETMASK);
    C(SIGHUP); C(SIGINT); C(SIGQUIT); C(SIGILL); C(SIGTRAP); C(SIGABRT); C(SIGBUS); C(SIGFPE); C(SIGKILL);
    C(SIGUSR1); C(SIGSEGV); C(SIGUSR2); C(SIGPIPE); C(SIGALRM); C(SIGTERM); C(SIGSTKFLT); C(SIGCHLD);
    C(SIGCONT); C(SIGSTOP); C(SIGTSTP); C(SIGTTIN); C(SIGTTOU); C(SIGURG); C(SIGXCPU); C(SIGXFSZ);
    C(SIGVTALRM); C(SIGPROF); C(SIGWINCH); C(SIGIO); C(SIGPWR); C(SIGSYS);
    section("real-time signal range as the kernel sees it (glibc's SIGRTMIN() reserves some for itself)");
    CN("SIGRTMIN_KERNEL", __SIGRTMIN); CN("SIGRTMAX_KERNEL", __SIGRTMAX);
    CN("KERNEL_SIGSET_BYTES", __SIGRTMAX / 8); /* sizeof(kernel sigset_t) on x86-64: _NSIG 64 bits */
    C(SI_USER); C(SI_KERNEL); C(SI_QUEUE); C(SI_TKILL);
    C(SA_SIGINFO); C(SA_RESTART); C(SA_ONSTACK); C(SA_NODEFER);
    ST(sigset_t, "glibc sigset_t (1024 bits; the kernel uses the first KERNEL_SIGSET_BYTES).");
    E();
    ST(siginfo_t, "siginfo_t, the fields sigtimedwait callers read.");
    TF(siginfo_t, si_signo); TF(siginfo_t, si_errno); TF(siginfo_t, si_code); TF(siginfo_t, si_pid);
    TF(siginfo_t, si_uid); TF(siginfo_t, si_addr); TF(siginfo_t, si_value);
    E();
    S(timespec, "struct timespec.");
    F(timespec, tv_sec); F(timespec, tv_nsec);
    E();
    end_class();
}

static void sockets(void) {
    klass("SocketH", "sys/socket.h, netinet/in.h, netinet/tcp.h, sys/un.h, linux/errqueue.h",
          "Sockets: families, types, options, MSG_ZEROCOPY and error-queue records, address and message layouts.");
    section("families, types, levels");
    C(AF_UNSPEC); C(AF_UNIX); C(AF_INET); C(AF_INET6);
    C(SOCK_STREAM); C(SOCK_DGRAM); C(SOCK_SEQPACKET); C(SOCK_CLOEXEC); C(SOCK_NONBLOCK);
    C(SOL_SOCKET); C(SOL_IP); C(SOL_IPV6); C(SOL_TCP);
    C(IPPROTO_IP); C(IPPROTO_IPV6); C(IPPROTO_TCP); C(IPPROTO_UDP);
    C(SOMAXCONN); C(SHUT_RD); C(SHUT_WR); C(SHUT_RDWR);
    section("socket options");
    C(SO_REUSEADDR); C(SO_REUSEPORT); C(SO_KEEPALIVE); C(SO_ERROR); C(SO_TYPE); C(SO_LINGER); C(SO_SNDBUF);
    C(SO_RCVBUF); C(SO_SNDBUFFORCE); C(SO_RCVBUFFORCE); C(SO_RCVLOWAT); C(SO_SNDLOWAT); C(SO_RCVTIMEO);
    C(SO_SNDTIMEO); C(SO_PEERCRED); C(SO_ZEROCOPY); C(SO_BUSY_POLL);
    C(TCP_NODELAY); C(TCP_MAXSEG); C(TCP_CORK); C(TCP_KEEPIDLE); C(TCP_KEEPINTVL); C(TCP_KEEPCNT);
    C(TCP_QUICKACK); C(TCP_USER_TIMEOUT); C(TCP_NOTSENT_LOWAT);
    C(IP_RECVERR); C(IPV6_RECVERR); C(IPV6_V6ONLY);
    C(SCM_RIGHTS); C(SCM_CREDENTIALS);
    section("message flags");
    C(MSG_OOB); C(MSG_PEEK); C(MSG_DONTROUTE); C(MSG_CTRUNC); C(MSG_TRUNC); C(MSG_DONTWAIT); C(MSG_EOR);
    C(MSG_WAITALL); C(MSG_NOSIGNAL); C(MSG_MORE); C(MSG_ERRQUEUE); C(MSG_ZEROCOPY); C(MSG_CMSG_CLOEXEC);
    section("error queue (MSG_ZEROCOPY completions)");
    C(SO_EE_ORIGIN_NONE); C(SO_EE_ORIGIN_LOCAL); C(SO_EE_ORIGIN_ICMP); C(SO_EE_ORIGIN_ICMP6);
    C(SO_EE_ORIGIN_ZEROCOPY); C(SO_EE_CODE_ZEROCOPY_COPIED);
    section("IPv4 addresses in host byte order (store big-endian into sockaddr_in.sin_addr)");
    C(INADDR_ANY); C(INADDR_LOOPBACK);

    section("struct layouts (ports and addresses in network byte order)");
    S(sockaddr, "Generic socket address header.");
    F(sockaddr, sa_family); F(sockaddr, sa_data);
    E();
    S(sockaddr_storage, "Large enough for any address family.");
    F(sockaddr_storage, ss_family);
    E();
    S(sockaddr_in, "IPv4 address.");
    F(sockaddr_in, sin_family); F(sockaddr_in, sin_port); F(sockaddr_in, sin_addr); A(sockaddr_in, sin_zero);
    E();
    S(sockaddr_in6, "IPv6 address; sin6_addr is 16 bytes.");
    F(sockaddr_in6, sin6_family); F(sockaddr_in6, sin6_port); F(sockaddr_in6, sin6_flowinfo);
    F(sockaddr_in6, sin6_addr); F(sockaddr_in6, sin6_scope_id);
    E();
    S(sockaddr_un, "Unix-domain address; sun_path holds up to sun_path_LEN bytes including the NUL.");
    F(sockaddr_un, sun_family); A(sockaddr_un, sun_path);
    E();
    S(iovec, "One buffer of a scatter/gather list.");
    F(iovec, iov_base); F(iovec, iov_len);
    E();
    S(msghdr, "sendmsg / recvmsg.");
    F(msghdr, msg_name); F(msghdr, msg_namelen); F(msghdr, msg_iov); F(msghdr, msg_iovlen); F(msghdr, msg_control);
    F(msghdr, msg_controllen); F(msghdr, msg_flags);
    E();
    S(cmsghdr, "Control message header; CMSG_DATA is at SIZE, records are aligned to 8 bytes (CMSG_ALIGN).");
    F(cmsghdr, cmsg_len); F(cmsghdr, cmsg_level); F(cmsghdr, cmsg_type);
    E();
    S(sock_extended_err, "IP_RECVERR / MSG_ZEROCOPY completion record; ee_info..ee_data is the completed range.");
    F(sock_extended_err, ee_errno); F(sock_extended_err, ee_origin); F(sock_extended_err, ee_type);
    F(sock_extended_err, ee_code); F(sock_extended_err, ee_pad); F(sock_extended_err, ee_info);
    F(sock_extended_err, ee_data);
    E();
    S(linger, "SO_LINGER.");
    F(linger, l_onoff); F(linger, l_linger);
    E();
    S(ucred, "SO_PEERCRED / SCM_CREDENTIALS.");
    F(ucred, pid); F(ucred, uid); F(ucred, gid);
    E();
    end_class();
}

static void polls(void) {
    klass("PollH", "poll.h, sys/epoll.h, sys/eventfd.h", "poll(2), epoll(7) and eventfd(2).");
    C(POLLIN); C(POLLPRI); C(POLLOUT); C(POLLERR); C(POLLHUP); C(POLLNVAL); C(POLLRDNORM); C(POLLWRNORM);
    C(POLLRDHUP);
    C(EPOLL_CLOEXEC); C(EPOLL_CTL_ADD); C(EPOLL_CTL_DEL); C(EPOLL_CTL_MOD);
    C(EPOLLIN); C(EPOLLPRI); C(EPOLLOUT); C(EPOLLERR); C(EPOLLHUP); C(EPOLLRDHUP); C(EPOLLEXCLUSIVE);
    C(EPOLLONESHOT); C(EPOLLET);
    C(EFD_SEMAPHORE); C(EFD_CLOEXEC); C(EFD_NONBLOCK);
    S(pollfd, "poll(2) entry.");
    F(pollfd, fd); F(pollfd, events); F(pollfd, revents);
    E();
    S(epoll_event, "epoll_ctl / epoll_wait entry (packed on x86-64: 12 bytes).");
    F(epoll_event, events); F(epoll_event, data);
    E();
    end_class();
}

static void statfs_(void) {
    klass("StatfsH", "sys/statfs.h, linux/magic.h", "statfs(2) layout and file-system magic numbers (f_type).");
    CL(HUGETLBFS_MAGIC); CL(TMPFS_MAGIC); CL(RAMFS_MAGIC); CL(EXT4_SUPER_MAGIC); CL(BTRFS_SUPER_MAGIC);
    CL(XFS_SUPER_MAGIC); CL(OVERLAYFS_SUPER_MAGIC); CL(NFS_SUPER_MAGIC); CL(PROC_SUPER_MAGIC); CL(SYSFS_MAGIC);
    CL(DEVPTS_SUPER_MAGIC); CL(CGROUP2_SUPER_MAGIC); CL(SECRETMEM_MAGIC);
    S(statfs, "statfs / fstatfs (identical to statfs64 on x86-64).");
    F(statfs, f_type); F(statfs, f_bsize); F(statfs, f_blocks); F(statfs, f_bfree); F(statfs, f_bavail);
    F(statfs, f_files); F(statfs, f_ffree); F(statfs, f_fsid); F(statfs, f_namelen); F(statfs, f_frsize);
    F(statfs, f_flags); A(statfs, f_spare);
    E();
    end_class();
}

static void syscalls(void) {
    klass("SyscallNr", "sys/syscall.h (asm/unistd_64.h)", "x86-64 system call numbers for syscall(2).");
    C(SYS_read); C(SYS_write); C(SYS_ioctl); C(SYS_mmap); C(SYS_munmap); C(SYS_mremap); C(SYS_madvise);
    C(SYS_mbind); C(SYS_set_mempolicy); C(SYS_get_mempolicy); C(SYS_move_pages); C(SYS_gettid); C(SYS_tgkill);
    C(SYS_futex); C(SYS_rt_sigprocmask); C(SYS_rt_sigtimedwait); C(SYS_eventfd2); C(SYS_pipe2);
    C(SYS_splice); C(SYS_vmsplice); C(SYS_sendfile); C(SYS_copy_file_range);
    C(SYS_process_vm_readv); C(SYS_process_vm_writev); C(SYS_userfaultfd); C(SYS_memfd_create);
    C(SYS_membarrier); C(SYS_pidfd_open); C(SYS_pidfd_getfd); C(SYS_close_range); C(SYS_process_madvise);
    C(SYS_memfd_secret); C(SYS_io_uring_setup); C(SYS_io_uring_enter); C(SYS_io_uring_register);
    end_class();
}

/*
 * NewerUapi.java is hand-written (uAPI newer than the headers this generator was written against). In check
 * mode, every part of it the installed headers do define is printed too, so AbiGoldenTest compares it the
 * moment the headers are new enough; nothing is printed for what the headers lack.
 */
static void newer_uapi(void) {
    if (!check_mode) return;
    cur_class = "NewerUapi";
#ifdef UFFDIO_CONTINUE_MODE_WP
    CL(UFFDIO_CONTINUE_MODE_WP);
#endif
#ifdef UFFD_FEATURE_WP_UNPOPULATED
    CL(UFFD_FEATURE_WP_UNPOPULATED);
#endif
#ifdef UFFD_FEATURE_POISON
    CL(UFFD_FEATURE_POISON);
#endif
#ifdef UFFD_FEATURE_WP_ASYNC
    CL(UFFD_FEATURE_WP_ASYNC);
#endif
#ifdef UFFD_FEATURE_MOVE
    CL(UFFD_FEATURE_MOVE);
#endif
#ifdef UFFDIO_MOVE
    C(_UFFDIO_MOVE); CL(UFFDIO_MOVE_MODE_DONTWAKE); CL(UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES);
    S(uffdio_move, ""); F(uffdio_move, dst); F(uffdio_move, src); F(uffdio_move, len); F(uffdio_move, mode);
    F(uffdio_move, move); E();
    IOS(UFFDIO_MOVE, UFFDIO, uffdio_move);
#endif
#ifdef UFFDIO_POISON
    C(_UFFDIO_POISON); CL(UFFDIO_POISON_MODE_DONTWAKE);
    S(uffdio_poison, ""); F(uffdio_poison, range); FN(uffdio_poison, "range_start", range.start);
    FN(uffdio_poison, "range_len", range.len); F(uffdio_poison, mode); F(uffdio_poison, updated); E();
    IOS(UFFDIO_POISON, UFFDIO, uffdio_poison);
#endif
#ifdef PROCFS_IOCTL_MAGIC
    C(PROCFS_IOCTL_MAGIC);
#endif
#ifdef PAGEMAP_SCAN
    CL(PAGE_IS_WPALLOWED); CL(PAGE_IS_WRITTEN); CL(PAGE_IS_FILE); CL(PAGE_IS_PRESENT); CL(PAGE_IS_SWAPPED);
    CL(PAGE_IS_PFNZERO); CL(PAGE_IS_HUGE); CL(PAGE_IS_SOFT_DIRTY);
    CL(PM_SCAN_WP_MATCHING); CL(PM_SCAN_CHECK_WPASYNC);
    S(page_region, ""); F(page_region, start); F(page_region, end); F(page_region, categories); E();
    S(pm_scan_arg, ""); F(pm_scan_arg, size); F(pm_scan_arg, flags); F(pm_scan_arg, start); F(pm_scan_arg, end);
    F(pm_scan_arg, walk_end); F(pm_scan_arg, vec); F(pm_scan_arg, vec_len); F(pm_scan_arg, max_pages);
    F(pm_scan_arg, category_inverted); F(pm_scan_arg, category_mask); F(pm_scan_arg, category_anyof_mask);
    F(pm_scan_arg, return_mask); E();
    ioctl_("PAGEMAP_SCAN", (unsigned long) PAGEMAP_SCAN, "PROCFS_IOCTL_MAGIC", 'f', "pm_scan_arg.SIZE",
           (long) sizeof(struct pm_scan_arg), 0);
#endif
#ifdef PAGE_IS_GUARD
    CL(PAGE_IS_GUARD);
#endif
#ifdef MADV_GUARD_INSTALL
    C(MADV_GUARD_INSTALL); C(MADV_GUARD_REMOVE);
#endif
#ifdef MFD_NOEXEC_SEAL
    C(MFD_NOEXEC_SEAL); C(MFD_EXEC);
#endif
#ifdef F_SEAL_EXEC
    C(F_SEAL_EXEC);
#endif
#ifdef VFIO_MIGRATION_PRE_COPY
    CL(VFIO_MIGRATION_PRE_COPY);
#endif
#ifdef VFIO_MIG_GET_PRECOPY_INFO
    C(VFIO_DEVICE_STATE_PRE_COPY); C(VFIO_DEVICE_STATE_PRE_COPY_P2P);
    S(vfio_precopy_info, ""); F(vfio_precopy_info, argsz); F(vfio_precopy_info, flags);
    F(vfio_precopy_info, initial_bytes); F(vfio_precopy_info, dirty_bytes); E();
    VIO0(VFIO_MIG_GET_PRECOPY_INFO);
#endif
#ifdef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
    C(VFIO_DEVICE_FEATURE_MIG_DATA_SIZE);
    S(vfio_device_feature_mig_data_size, ""); F(vfio_device_feature_mig_data_size, stop_copy_length); E();
#endif
#ifdef KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP
    C(KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP);
#endif
#ifdef KVM_CAP_USER_MEMORY2
    C(KVM_CAP_USER_MEMORY2);
#endif
#ifdef KVM_CAP_MEMORY_FAULT_INFO
    C(KVM_CAP_MEMORY_FAULT_INFO);
#endif
#ifdef KVM_EXIT_MEMORY_FAULT
    C(KVM_EXIT_MEMORY_FAULT); CL(KVM_MEMORY_EXIT_FLAG_PRIVATE);
    cur_struct = "kvm_run"; /* only the new members: NewerUapi.kvm_run has no SIZE */
    FN(kvm_run, "memory_fault_flags", memory_fault.flags); FN(kvm_run, "memory_fault_gpa", memory_fault.gpa);
    FN(kvm_run, "memory_fault_size", memory_fault.size);
    cur_struct = NULL;
#endif
#ifdef KVM_SET_USER_MEMORY_REGION2
    C(KVM_MEM_GUEST_MEMFD);
    S(kvm_userspace_memory_region2, ""); F(kvm_userspace_memory_region2, slot);
    F(kvm_userspace_memory_region2, flags); F(kvm_userspace_memory_region2, guest_phys_addr);
    F(kvm_userspace_memory_region2, memory_size); F(kvm_userspace_memory_region2, userspace_addr);
    F(kvm_userspace_memory_region2, guest_memfd_offset); F(kvm_userspace_memory_region2, guest_memfd);
    F(kvm_userspace_memory_region2, pad1); A(kvm_userspace_memory_region2, pad2); E();
    IOS(KVM_SET_USER_MEMORY_REGION2, KVMIO, kvm_userspace_memory_region2);
#endif
    cur_class = NULL;
}

int main(int argc, char **argv) {
    if (argc != 2 || (strcmp(argv[1], "gen") && strcmp(argv[1], "check"))) {
        fprintf(stderr, "usage: %s gen|check\n", argv[0]);
        return 2;
    }
    check_mode = strcmp(argv[1], "check") == 0;
    if (!check_mode) {
        printf("meta\tLinux uAPI headers %d.%d.%d, glibc %d.%d, gcc %d.%d.%d, x86-64\n", LINUX_VERSION_CODE >> 16,
               (LINUX_VERSION_CODE >> 8) & 0xff, LINUX_VERSION_CODE & 0xff, __GLIBC__, __GLIBC_MINOR__, __GNUC__, __GNUC_MINOR__,
               __GNUC_PATCHLEVEL__);
    }
    kvm();
    userfaultfd();
    vfio();
    mman();
    errnos();
    signals();
    sockets();
    polls();
    statfs_();
    syscalls();
    newer_uapi();
    if (errors) {
        fprintf(stderr, "probe: %d inconsistencies\n", errors);
        return 1;
    }
    return 0;
}
