/* session.h - the bound program, the one arena and what runs in it: SAMPLE staging, INFER,
 * TRAIN steps, and the statistics STATS reports (docs/protocol.md). Talks to the engine
 * only through engine.h, and to nothing else (no link, no UART). */
#ifndef MCUTRAIN_SESSION_H
#define MCUTRAIN_SESSION_H

#include <stdint.h>

#include "engine.h"
#include "program_store.h"

/* Binds a program: checks it fits the arena before touching anything, then paints the
 * arena (for the high-water mark) and initialises the engine. STATUS_OK, STATUS_NO_SPACE
 * (arena too small), STATUS_BAD_ARG (engine refuses it), STATUS_INTERNAL. */
uint8_t session_bind(const program_ref_t *ref);
void session_unbind(void);
/* The bound program, NULL when none. */
const program_ref_t *session_program(void);
uint32_t session_arena_capacity(void);
/* For checkpoint.c: the engine of the bound program (NULL when none). */
mct_engine_t *session_engine(void);

/* SAMPLE, every operation (first payload byte). */
uint8_t session_sample(const uint8_t *payload, uint16_t len, uint8_t *reply, uint16_t *reply_len);

/* INFER on the staged sample; reply = INFER_REPLY_HEADER_SIZE + logits. */
uint8_t session_infer(uint8_t *reply, uint16_t *reply_len, uint16_t reply_max);

typedef struct {
    float loss;
    uint16_t predicted;
    uint8_t correct;
    uint32_t cycles;
} session_step_t;

/* One training step on the staged, labelled sample. */
uint8_t session_train_step(session_step_t *out);
uint32_t session_steps(void);
/* Training steps the current weights have seen (set by a checkpoint restore). */
void session_set_steps(uint32_t steps);

/* Learned state of the bound program, for checkpoints: region i (0-based) of the count
 * returned; arena bytes the engine updates while training. */
uint32_t session_state_region(uint32_t i, uint8_t **data, uint32_t *len);

/* RESET_MODE_TRAINING: initial weights back, statistics zeroed. */
uint8_t session_reset_training(void);

void session_stats(uint8_t *reply, int zero_after);

#endif /* MCUTRAIN_SESSION_H */
