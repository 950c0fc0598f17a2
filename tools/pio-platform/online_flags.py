"""Extra script for the online (official ststm32) environments: hard-float link and assembler flags
and the -L path the board linker scripts need for their INCLUDE. The offline platform sets these
itself (builder/main.py, from the board JSON's build.fpu).

The FPU comes from the environment's own build_flags (-mfpu=fpv5-sp-d16 on the Cortex-M7
DISCO-F746, fpv4-sp-d16 on the Cortex-M4 NUCLEO-F412ZG): the link must name the same one, or GCC
picks a libgcc/newlib multilib that does not match the objects."""

Import("env")  # noqa: F821  (SCons injects Import)


def _fpu_from_build_flags(build_flags):
    fpus = {flag[len("-mfpu=") :] for flag in " ".join(build_flags).split() if flag.startswith("-mfpu=")}
    if len(fpus) != 1:
        return None
    return fpus.pop()


_fpu = _fpu_from_build_flags(env.GetProjectOption("build_flags", []))  # noqa: F821
if _fpu is None:
    print(f"online_flags.py: build_flags of [env:{env['PIOENV']}] must name exactly one -mfpu=")  # noqa: F821
    env.Exit(1)  # noqa: F821

fp = ["-mfpu=" + _fpu, "-mfloat-abi=hard"]
env.Append(  # noqa: F821
    LINKFLAGS=fp + ["-nostartfiles", "-Lfirmware/board/linker", "--specs=nano.specs", "--specs=nosys.specs"],
    ASFLAGS=fp,
)
