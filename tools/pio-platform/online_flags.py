"""Extra script for the online (official ststm32) environment: hard-float link flags and the -L
path the board linker scripts need for their INCLUDE. The offline platform sets these itself."""

Import("env")  # noqa: F821  (SCons injects Import)

fp = ["-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"]
env.Append(  # noqa: F821
    LINKFLAGS=fp + ["-nostartfiles", "-Lfirmware/board/linker", "--specs=nano.specs", "--specs=nosys.specs"],
    ASFLAGS=fp,
)
