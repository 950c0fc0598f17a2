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

#endif /* MCUTRAIN_APP_CONFIG_H */
