package io.livemig.kvm.java;

import io.livemig.kvm.MachineState;
import io.livemig.memory.GuestMemory;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Test-only snapshot file: machine state + the RAM block "ram", so a second JVM can continue the guest.
 * <pre>
 * "LMST" | accelerator (UTF) | entry count (int) | per entry: name (UTF), length (int), bytes
 *        | ram size (long) | ram bytes
 * </pre>
 */
final class StateFile {
    private static final int MAGIC = 0x4C4D5354;

    private StateFile() {
    }

    static void write(Path file, MachineState state, MemorySegment ram) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            DataOutputStream out = new DataOutputStream(Channels.newOutputStream(ch));
            out.writeInt(MAGIC);
            out.writeUTF(state.accelerator());
            out.writeInt(state.entries().size());
            for (MachineState.Entry e : state.entries()) {
                out.writeUTF(e.name());
                out.writeInt(e.data().length);
                out.write(e.data());
            }
            out.writeLong(ram.byteSize());
            out.flush();
            ByteBuffer bb = ram.asByteBuffer();
            while (bb.hasRemaining()) ch.write(bb);
        }
    }

    /** Reads the state and fills the "ram" block of {@code memory} (which must have the saved size). */
    static MachineState read(Path file, GuestMemory memory) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            DataInputStream in = new DataInputStream(Channels.newInputStream(ch));
            if (in.readInt() != MAGIC) throw new IOException(file + ": not a livemig test state file");
            String accel = in.readUTF();
            int n = in.readInt();
            List<MachineState.Entry> entries = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String name = in.readUTF();
                byte[] data = new byte[in.readInt()];
                in.readFully(data);
                entries.add(new MachineState.Entry(name, data));
            }
            long size = in.readLong();
            MemorySegment ram = memory.block("ram").segment();
            if (size != ram.byteSize()) throw new IOException("ram size " + size + " in file, memory has " + ram.byteSize());
            // DataInputStream over the channel reads no further than asked: the channel position is at the RAM.
            ByteBuffer bb = ram.asByteBuffer();
            while (bb.hasRemaining()) {
                if (ch.read(bb) < 0) throw new IOException(file + ": truncated RAM image");
            }
            return new MachineState(accel, entries);
        }
    }

    static long ramSize(Path file) throws IOException {
        try (DataInputStream in = new DataInputStream(java.nio.file.Files.newInputStream(file))) {
            in.readInt();
            in.readUTF();
            int n = in.readInt();
            for (int i = 0; i < n; i++) {
                in.readUTF();
                in.skipNBytes(in.readInt());
            }
            return in.readLong();
        }
    }
}
