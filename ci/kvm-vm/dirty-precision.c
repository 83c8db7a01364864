/* Which pages does KVM_GET_DIRTY_LOG report after a guest that executes page 0, reads page 1 and writes
   page 2 (of 8)? gcc -static -O2 -o /tmp/dirty-precision ci/kvm-vm/dirty-precision.c;
   ci/kvm-vm/run-in-kvm-vm.sh -- /tmp/dirty-precision. Inside the TCG VM it reports 0x7 (pages 0-2), not 0x4. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
/* 8 pages at GPA 0x10000: page0 = code, page1 read only, page2 written, pages 3..7 untouched.
   code: mov al,[0x1000]; mov [0x2000],al ; out 0x3f8? no: hlt.  (real mode, ds = 0x1000 -> base 0x10000) */
int run(int manual, int initially_set){
  int kvm=open("/dev/kvm",O_RDWR); int vm=ioctl(kvm,KVM_CREATE_VM,0);
  if(manual){ struct kvm_enable_cap c={.cap=KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,.args={KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE|(initially_set?KVM_DIRTY_LOG_INITIALLY_SET:0)}};
    if(ioctl(vm,KVM_ENABLE_CAP,&c)<0){perror("ENABLE_CAP");return 1;} }
  size_t sz=8*4096; uint8_t*mem=mmap(0,sz,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_ANONYMOUS,-1,0);
  const uint8_t code[]={0xa0,0x00,0x10, 0xa2,0x00,0x20, 0xf4}; memcpy(mem,code,sizeof code); mem[0x1000]=0x5a;
  struct kvm_userspace_memory_region r={.slot=0,.flags=KVM_MEM_LOG_DIRTY_PAGES,.guest_phys_addr=0x10000,.memory_size=sz,.userspace_addr=(uint64_t)mem};
  ioctl(vm,KVM_SET_USER_MEMORY_REGION,&r);
  unsigned long bm=0; struct kvm_dirty_log dl={.slot=0,.dirty_bitmap=&bm};
  ioctl(vm,KVM_GET_DIRTY_LOG,&dl); printf("manual=%d init_set=%d before run: bitmap=0x%lx\n",manual,initially_set,bm);
  if(manual){ struct kvm_clear_dirty_log cl={.slot=0,.first_page=0,.num_pages=8,.dirty_bitmap=&bm}; if(ioctl(vm,KVM_CLEAR_DIRTY_LOG,&cl)<0) perror("CLEAR"); }
  int vcpu=ioctl(vm,KVM_CREATE_VCPU,0); struct kvm_run*run=mmap(0,ioctl(kvm,KVM_GET_VCPU_MMAP_SIZE,0),PROT_READ|PROT_WRITE,MAP_SHARED,vcpu,0);
  struct kvm_sregs s; ioctl(vcpu,KVM_GET_SREGS,&s); s.cs.base=0x10000; s.cs.selector=0x1000; s.ds.base=0x10000; s.ds.selector=0x1000; ioctl(vcpu,KVM_SET_SREGS,&s);
  struct kvm_regs g={0}; g.rip=0; g.rflags=2; ioctl(vcpu,KVM_SET_REGS,&g);
  ioctl(vcpu,KVM_RUN,0); printf("exit_reason=%d (HLT=5) mem[0x2000]=0x%x\n",run->exit_reason,mem[0x2000]);
  bm=0; ioctl(vm,KVM_GET_DIRTY_LOG,&dl); printf("after run: bitmap=0x%lx (expect 0x4: only page 2 written)\n",bm);
  close(vcpu); close(vm); close(kvm); return 0;
}
int main(){ run(0,0); run(1,0); run(1,1); return 0; }
