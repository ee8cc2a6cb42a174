import fs from 'node:fs';

/**
 * Live processes whose environment holds `text`, and whether each is Spark's driver JVM. The local
 * Spark runner puts the run's folder (named after its JobRunId) in SPARK_LOCAL_DIRS, so a run's id finds
 * its Python process and its JVM.
 */
export function processesWith(text: string): { pid: number; java: boolean }[] {
  return fs.readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      if (fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')) return [];
      if (!fs.readFileSync(`/proc/${entry}/environ`, 'latin1').includes(text)) return [];
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0');
      // spark-submit's shell script and Spark's launcher name SparkSubmit too; the driver is the java that runs it.
      const java = /(^|\/)java$/.test(argv[0] ?? '') && !argv.includes('org.apache.spark.launcher.Main');
      return [{ pid: Number(entry), java: java && argv.includes('org.apache.spark.deploy.SparkSubmit') }];
    } catch {
      return []; // gone, or not ours to read
    }
  });
}
