// XerialCheck.java - snappy-java's own stream classes, the ones Kafka's Java client uses for
// compression.type=snappy, as an independent check of common/'s xerial framing.
//
//   java -cp /usr/share/java/snappy-java.jar XerialCheck.java decode IN OUT   (SnappyInputStream)
//   java -cp /usr/share/java/snappy-java.jar XerialCheck.java encode IN OUT   (SnappyOutputStream)
//
// Run by common/tests/test_codec.c when a JVM and Debian's libsnappy-java are installed.
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.xerial.snappy.SnappyInputStream;
import org.xerial.snappy.SnappyOutputStream;

public class XerialCheck {
    public static void main(String[] args) throws Exception {
        byte[] in = Files.readAllBytes(Path.of(args[1]));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (args[0].equals("decode")) {
            try (InputStream s = new SnappyInputStream(new java.io.ByteArrayInputStream(in))) {
                s.transferTo(out);
            }
        } else {
            try (OutputStream s = new SnappyOutputStream(out)) {
                s.write(in);
            }
        }
        Files.write(Path.of(args[2]), out.toByteArray());
    }
}
