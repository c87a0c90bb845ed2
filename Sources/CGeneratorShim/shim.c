#define _GNU_SOURCE
#include "CGeneratorShim.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

int hg_interface_info(const char *name, hg_ifinfo *out) {
    memset(out, 0, sizeof(*out));
    if (strlen(name) >= IFNAMSIZ) return -ENAMETOOLONG;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    int rc = 0;
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) { rc = -errno; goto done; }
    out->ifindex = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) { rc = -errno; goto done; }
    out->mtu = ifr.ifr_mtu;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) { rc = -errno; goto done; }
    out->up = (ifr.ifr_flags & IFF_UP) != 0;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) { rc = -errno; goto done; }
    memcpy(out->mac, ifr.ifr_hwaddr.sa_data, 6);
done:
    close(fd);
    return rc;
}

int hg_packet_socket(int ifindex, int qdisc_bypass, int sndbuf) {
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (qdisc_bypass) {
        int one = 1;
        if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0) {
            int e = errno; close(fd); return -e;
        }
    }
    if (sndbuf > 0) {
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
            (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    }
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = ifindex;
    sll.sll_protocol = 0;  // transmit only
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) { int e = errno; close(fd); return -e; }
    return fd;
}

int hg_sendmmsg(int fd, void *const *frames, const uint32_t *lengths, int count) {
    if (count <= 0) return 0;
    if (count > 1024) count = 1024;
    struct mmsghdr msgs[count];
    struct iovec iov[count];
    for (int i = 0; i < count; i++) {
        iov[i].iov_base = frames[i];
        iov[i].iov_len = lengths[i];
        memset(&msgs[i], 0, sizeof(msgs[i]));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = sendmmsg(fd, msgs, (unsigned)count, 0);
    return n < 0 ? -errno : n;
}

int hg_txring_setup(int fd, uint32_t frame_size, uint32_t frame_count, void **ring, size_t *ring_len) {
    int v = TPACKET_V2;
    if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0) return -errno;
    uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
    uint32_t block = page;
    while (block < frame_size * 16 && block < (1u << 22)) block <<= 1;
    struct tpacket_req req;
    memset(&req, 0, sizeof(req));
    req.tp_block_size = block;
    req.tp_frame_size = frame_size;
    uint32_t per_block = block / frame_size;
    req.tp_block_nr = (frame_count + per_block - 1) / per_block;
    req.tp_frame_nr = req.tp_block_nr * per_block;
    if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) < 0) return -errno;
    size_t len = (size_t)req.tp_block_size * req.tp_block_nr;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED) {
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) return -errno;
    }
    *ring = p;
    *ring_len = len;
    return (int)req.tp_frame_nr;
}

int hg_txring_busy(const void *slot) {
    const struct tpacket2_hdr *h = slot;
    uint32_t s = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
    return (s & (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING)) != 0;
}

uint32_t hg_txring_data_offset(void) {
    return TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);
}

void *hg_txring_data(void *slot) { return (char *)slot + hg_txring_data_offset(); }

void hg_txring_commit(void *slot, uint32_t len) {
    struct tpacket2_hdr *h = slot;
    h->tp_len = len;
    h->tp_snaplen = len;
    __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
}

long hg_txring_kick(int fd, int wait) {
    ssize_t n = sendto(fd, NULL, 0, wait ? 0 : MSG_DONTWAIT, NULL, 0);
    return n < 0 ? -errno : (long)n;
}

int hg_pin_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
}

int hg_online_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static volatile sig_atomic_t stop_flag = 0;
static void on_stop(int sig) { (void)sig; stop_flag = 1; }

void hg_install_stop_handler(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void hg_restore_default_handlers(void) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

int hg_stop_requested(void) { return stop_flag != 0; }
void hg_request_stop(void) { stop_flag = 1; }
void hg_clear_stop(void) { stop_flag = 0; }

uint64_t hg_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void hg_sleep_until_ns(uint64_t deadline) {
    struct timespec ts = { .tv_sec = (time_t)(deadline / 1000000000ull), .tv_nsec = (long)(deadline % 1000000000ull) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
        if (stop_flag) break;
    }
}
