/* Static C smoke test for /dev/kvm (no JVM): gcc -static -O2 -o /tmp/kvm-smoke ci/kvm-vm/kvm-smoke.c
   then ci/kvm-vm/run-in-kvm-vm.sh -- /tmp/kvm-smoke. Prints the API version, dirty-log capabilities,
   runs `out 0x3f8` twice + `hlt` in real mode and ends with "KVMTEST PASS" (exit 0). */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
#define DIE(msg) do{perror(msg);return 1;}while(0)

int main(void){
  double t0=now();
  int kvm=open("/dev/kvm",O_RDWR|O_CLOEXEC); if(kvm<0) DIE("open /dev/kvm");
  int api=ioctl(kvm,KVM_GET_API_VERSION,0); printf("KVM_GET_API_VERSION=%d\n",api);
  printf("KVM_CAP_DIRTY_LOG_RING=%d\n",ioctl(kvm,KVM_CHECK_EXTENSION,KVM_CAP_DIRTY_LOG_RING));
#ifdef KVM_CAP_DIRTY_LOG_RING_ACQ_REL
  printf("KVM_CAP_DIRTY_LOG_RING_ACQ_REL=%d\n",ioctl(kvm,KVM_CHECK_EXTENSION,KVM_CAP_DIRTY_LOG_RING_ACQ_REL));
#endif
  printf("KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2=%d\n",ioctl(kvm,KVM_CHECK_EXTENSION,KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2));
  printf("KVM_CAP_NR_VCPUS=%d KVM_CAP_USER_MEMORY=%d\n",ioctl(kvm,KVM_CHECK_EXTENSION,KVM_CAP_NR_VCPUS),ioctl(kvm,KVM_CHECK_EXTENSION,KVM_CAP_USER_MEMORY));
  int vm=ioctl(kvm,KVM_CREATE_VM,0); if(vm<0) DIE("KVM_CREATE_VM");
  printf("KVM_CREATE_VM fd=%d\n",vm);
  /* per-VM check (dirty ring is checked on vm fd in newer kernels) */
  printf("VM KVM_CAP_DIRTY_LOG_RING=%d\n",ioctl(vm,KVM_CHECK_EXTENSION,KVM_CAP_DIRTY_LOG_RING));
  size_t memsz=0x1000;
  uint8_t *mem=mmap(NULL,memsz,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_ANONYMOUS,-1,0); if(mem==MAP_FAILED) DIE("mmap");
  /* mov dx,0x3f8; mov al,'K'; out dx,al; add al,1; out dx,al; hlt */
  const uint8_t code[]={0xba,0xf8,0x03, 0xb0,'K', 0xee, 0x04,0x01, 0xee, 0xf4};
  memcpy(mem,code,sizeof code);
  struct kvm_userspace_memory_region r={.slot=0,.flags=KVM_MEM_LOG_DIRTY_PAGES,.guest_phys_addr=0x1000,.memory_size=memsz,.userspace_addr=(uint64_t)mem};
  if(ioctl(vm,KVM_SET_USER_MEMORY_REGION,&r)<0) DIE("KVM_SET_USER_MEMORY_REGION");
  int vcpu=ioctl(vm,KVM_CREATE_VCPU,0); if(vcpu<0) DIE("KVM_CREATE_VCPU");
  int runsz=ioctl(kvm,KVM_GET_VCPU_MMAP_SIZE,0);
  struct kvm_run *run=mmap(NULL,runsz,PROT_READ|PROT_WRITE,MAP_SHARED,vcpu,0); if(run==MAP_FAILED) DIE("mmap run");
  struct kvm_sregs s; if(ioctl(vcpu,KVM_GET_SREGS,&s)<0) DIE("GET_SREGS");
  s.cs.base=0; s.cs.selector=0; if(ioctl(vcpu,KVM_SET_SREGS,&s)<0) DIE("SET_SREGS");
  struct kvm_regs g; memset(&g,0,sizeof g); g.rip=0x1000; g.rflags=2;
  if(ioctl(vcpu,KVM_SET_REGS,&g)<0) DIE("SET_REGS");
  double t1=now(); int nio=0; char out[8]={0};
  for(;;){
    if(ioctl(vcpu,KVM_RUN,0)<0) DIE("KVM_RUN");
    if(run->exit_reason==KVM_EXIT_IO){
      char c=*((char*)run+run->io.data_offset);
      printf("KVM_EXIT_IO port=0x%x dir=%s size=%d data='%c'\n",run->io.port,run->io.direction==KVM_EXIT_IO_OUT?"out":"in",run->io.size,c);
      if(nio<7) out[nio]=c; nio++;
    } else if(run->exit_reason==KVM_EXIT_HLT){ printf("KVM_EXIT_HLT\n"); break; }
    else { printf("unexpected exit_reason=%d (hw reason 0x%llx)\n",run->exit_reason,(unsigned long long)run->hw.hardware_exit_reason); return 2; }
  }
  double t2=now();
  /* dirty log */
  unsigned long bitmap[1]={0}; struct kvm_dirty_log dl={.slot=0,.dirty_bitmap=bitmap};
  int dr=ioctl(vm,KVM_GET_DIRTY_LOG,&dl); printf("KVM_GET_DIRTY_LOG rc=%d bitmap=0x%lx\n",dr,bitmap[0]);
  int ok = api==12 && nio==2 && out[0]=='K' && out[1]=='L';
  printf("KVM_RUN total %.3f ms; setup %.3f ms\n",(t2-t1)*1e3,(t1-t0)*1e3);
  printf("KVMTEST %s\n", ok?"PASS":"FAIL");
  return ok?0:3;
}
