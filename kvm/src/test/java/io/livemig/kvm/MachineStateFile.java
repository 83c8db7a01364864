package io.livemig.kvm;

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
 * Test-only snapshot of a machine (kvm or java) for the cross-process restore tests:
 * <pre>
 * u32 "LMKV" | UTF accelerator | u32 entries | per entry: UTF name, u32 length, bytes | u64 ram bytes | ram
 * </pre>
 */
public final class MachineStateFile {
    private static final int MAGIC = 0x4C4D4B56;

    private MachineStateFile() {
    }

    public static void write(Path file, MachineState state, MemorySegment ram) throws IOException {
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

    public static long ramBytes(Path file) throws IOException {
        try (DataInputStream in = new DataInputStream(java.nio.file.Files.newInputStream(file))) {
            readHeader(file, in);
            return in.readLong();
        }
    }

    /** Reads the state and fills block "ram" of {@code memory} (same size as saved). */
    public static MachineState read(Path file, GuestMemory memory) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            DataInputStream in = new DataInputStream(Channels.newInputStream(ch));
            MachineState s = readHeader(file, in);
            long size = in.readLong();
            MemorySegment ram = memory.block("ram").segment();
            if (size != ram.byteSize()) throw new IOException("ram is " + size + " bytes in " + file + ", memory has " + ram.byteSize());
            ByteBuffer bb = ram.asByteBuffer();
            while (bb.hasRemaining()) {
                if (ch.read(bb) < 0) throw new IOException(file + ": truncated RAM image");
            }
            return s;
        }
    }

    private static MachineState readHeader(Path file, DataInputStream in) throws IOException {
        if (in.readInt() != MAGIC) throw new IOException(file + ": not a KVM state file");
        String accel = in.readUTF();
        int n = in.readInt();
        List<MachineState.Entry> entries = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String name = in.readUTF();
            byte[] data = new byte[in.readInt()];
            in.readFully(data);
            entries.add(new MachineState.Entry(name, data));
        }
        return new MachineState(accel, entries);
    }
}
