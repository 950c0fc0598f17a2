"""SCons build script of the offline STM32 platform: system arm-none-eabi-gcc, no HAL, no framework.

Sources and their filter come from platformio.ini (src_dir = firmware, build_src_filter); this file
only knows the toolchain, the CPU flags and the linker script.
"""

import os

from SCons.Script import COMMAND_LINE_TARGETS, AlwaysBuild, Default, DefaultEnvironment  # noqa: F401

env = DefaultEnvironment()
board = env.BoardConfig()

cpu = board.get("build.cpu")
fpu = board.get("build.fpu")
ldscript_dir = os.path.join(env.subst("$PROJECT_SRC_DIR"), "board", "linker")

env.Replace(
    AR="arm-none-eabi-ar",
    AS="arm-none-eabi-gcc",
    CC="arm-none-eabi-gcc",
    CXX="arm-none-eabi-g++",
    LINK="arm-none-eabi-gcc",
    OBJCOPY="arm-none-eabi-objcopy",
    RANLIB="arm-none-eabi-ranlib",
    SIZETOOL="arm-none-eabi-size",
    PROGNAME="firmware",
    PROGSUFFIX=".elf",
    LDSCRIPT_PATH=os.path.join(ldscript_dir, board.get("build.ldscript")),
    # Let PlatformIO's checkprogsize read the sections it knows.
    SIZEPROGREGEXP=r"^(?:\.isr_vector|\.text|\.data|\.rodata|\.ARM\.exidx|\.ARM\.extab)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
    SIZEELFCMD="$SIZETOOL -B -d $TARGET",
)

machine_flags = [f"-mcpu={cpu}", "-mthumb", f"-mfpu={fpu}", "-mfloat-abi=hard"]

env.Append(
    ASFLAGS=machine_flags,
    CCFLAGS=machine_flags + ["-O2", "-g3", "-ffunction-sections", "-fdata-sections", "-fno-common"],
    LINKFLAGS=machine_flags
    + [
        "-nostartfiles",  # board/startup provides the vector table and reset handler
        "-Wl,--gc-sections",
        "-Wl,-Map,${BUILD_DIR}/${PROGNAME}.map",
        f"-L{ldscript_dir}",  # the board scripts INCLUDE cortexm_common.ld
        "--specs=nano.specs",  # newlib-nano: memcpy/memset only, no stdio in use
        "--specs=nosys.specs",
    ],
    LIBS=["c", "m", "gcc"],
)
env.Append(CPPDEFINES=[("F_CPU", board.get("build.f_cpu"))])
# build.extra_flags of the board JSON are added by PlatformIO itself.

target_elf = env.BuildProgram()
AlwaysBuild(env.Alias("size", target_elf, env.VerboseAction("$SIZEPRINTCMD", "Size of $SOURCES")))
env.AddPostAction(target_elf, env.VerboseAction("$SIZEELFCMD", "Size (Berkeley, bytes):"))
Default([target_elf])
