#!/usr/bin/python3
# A stand-in for amigod's admission on a lab host's system bus, for
# test-hook-lab.sh: owns org.amigo.Daemon1 and answers AdmitMigration as the
# mode file says ("refuse TEXT" -> org.amigo.Error.Refused with TEXT;
# "admit SHARES" -> the XML with <cputune><shares>SHARES</shares>; "apply
# HELPER CPU MEM NET IOPS" -> the XML as amigo's own code writes that
# allocation in (test-domain-tunables-helper); "hang" ->
# no answer; "fail TEXT" -> org.amigo.Error.Failed), and records every call,
# one line each, in the log file (the last XML it was given in
# LOG_FILE.last.xml). The bus is the system bus, or
# DBUS_SYSTEM_BUS_ADDRESS.
# usage: test-hook-standin.py INTERFACE_XML MODE_FILE LOG_FILE
import os
import re
import subprocess
import sys
import tempfile
import time

from gi.repository import Gio, GLib

iface_xml, mode_file, log_file = sys.argv[1:4]
unanswered = []
node = Gio.DBusNodeInfo.new_for_xml(open(iface_xml).read())


def log(line):
    with open(log_file, "a") as f:
        f.write(f"{time.time():.3f} {line}\n")


def with_shares(xml, shares):
    tag = f"<shares>{shares}</shares>"
    if re.search(r"<shares>\d+</shares>", xml):
        return re.sub(r"<shares>\d+</shares>", tag, xml, count=1)
    if "<cputune>" in xml:
        return xml.replace("<cputune>", "<cputune>" + tag, 1)
    return xml.replace("</domain>", f"  <cputune>{tag}</cputune>\n</domain>", 1)


def on_call(conn, sender, path, iface, method, params, invocation):
    mode = open(mode_file).read().strip()
    if method == "AdmitMigration":
        xml, _options = params.unpack()
        uuid = re.search(r"<uuid>([^<]*)</uuid>", xml)
        log(f"AdmitMigration uuid={uuid.group(1) if uuid else '?'} bytes={len(xml)} mode={mode!r}")
        with open(log_file + ".last.xml", "w") as f:
            f.write(xml)
        if mode == "hang":
            unanswered.append(invocation)
            return
        if mode.startswith("fail "):
            invocation.return_dbus_error("org.amigo.Error.Failed", mode[len("fail "):])
            return
        if mode.startswith("refuse "):
            invocation.return_dbus_error("org.amigo.Error.Refused", mode[len("refuse "):])
            return
        if mode.startswith("apply "):
            helper, *amounts = mode.split()[1:]
            with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
                f.write(xml)
            run = subprocess.run([helper, f.name, *amounts], capture_output=True, text=True)
            os.unlink(f.name)
            if run.returncode != 0:
                invocation.return_dbus_error("org.amigo.Error.BadData", run.stderr.strip())
                return
            with open(log_file + ".admitted.xml", "w") as f:
                f.write(run.stdout)
            invocation.return_value(GLib.Variant("(sa{sv})", (run.stdout, {})))
            return
        shares = int(mode.split()[1])
        info = {"source": GLib.Variant("s", "prior"), "cpu_cores": GLib.Variant("d", shares / 1024)}
        invocation.return_value(GLib.Variant("(sa{sv})", (with_shares(xml, shares), info)))
    elif method == "ReleaseReservation":
        uuid, reason = params.unpack()
        log(f"ReleaseReservation uuid={uuid} reason={reason!r}")
        invocation.return_value(None)
    else:
        invocation.return_dbus_error("org.amigo.Error.NotSupported", f"{method} is not part of the stand-in")


def on_bus(conn, name):
    conn.register_object("/org/amigo/Daemon1", node.interfaces[0], on_call, None, None)


loop = GLib.MainLoop()
Gio.bus_own_name(Gio.BusType.SYSTEM, "org.amigo.Daemon1", Gio.BusNameOwnerFlags.NONE,
                 on_bus, lambda c, n: log("owned"), lambda c, n: (log("lost the name"), loop.quit()))
loop.run()
