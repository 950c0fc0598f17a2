/* app_config.h - sizes the application fixes at build time. */
#ifndef MCUTRAIN_APP_CONFIG_H
#define MCUTRAIN_APP_CONFIG_H

/* The one engine arena (static, in .bss). Each board's environment in
 * platformio.ini sets it from that board's RAM budget: RAM minus the rest of
 * .data/.bss minus the stack reserve; the linker script refuses an image that
 * leaves less than MIN_STACK_SIZE for the stack, so a too-large arena is a
 * build error. The default is for host builds. */
#ifndef APP_ARENA_BYTES
#define APP_ARENA_BYTES (256u * 1024u)
#endif

/* Watchdog timeout, started once the board has booted (main.c). The main loop kicks on every
 * turn and TRAIN between steps, so this bounds one request or one training step: a person-
 * detection step is well under a second at 216 MHz (and in QEMU's virtual time), a 256 KB
 * sector erase 1-2 s (kicked per sector). The IWDG can count to ~32 s. */
#ifndef APP_WATCHDOG_MS
#define APP_WATCHDOG_MS 8000u
#endif

/* Checkpoint slot size: each of the two slots (flash_layout.h) is the fewest whole erase units
 * of the board's flash region holding at least this many bytes (32-byte header + learned state).
 * 24 KB takes the project's person-detection program (19,324 B of state with the shipped 96K
 * sparse scheme) with room to spare; boards with big sectors get one sector per slot. */
#ifndef APP_CHECKPOINT_SLOT_BYTES
#define APP_CHECKPOINT_SLOT_BYTES (24u * 1024u)
#endif

#endif /* MCUTRAIN_APP_CONFIG_H */
