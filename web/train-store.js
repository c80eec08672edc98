// The Train view's checkpoint in IndexedDB (one slot, "last"): the bytes of the whole run
// (weights, optimiser moments, step, data order, settings, curves) and a small summary; and in
// the slot "data" the user's own images (the worker's Data message and its bytes), so that a
// reload resumes without asking for the folder again.
// Called from Rust (src/ui/train/client.rs) through window.wbTrainStore; every call returns a
// Promise.
window.wbTrainStore = (() => {
  const open = () =>
    new Promise((resolve, reject) => {
      const r = indexedDB.open("whitebox-train", 1);
      r.onupgradeneeded = () => r.result.createObjectStore("runs");
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  const run = async (mode, f) => {
    const db = await open();
    return new Promise((resolve, reject) => {
      const t = db.transaction("runs", mode);
      const req = f(t.objectStore("runs"));
      t.oncomplete = () => { db.close(); resolve(req.result); };
      t.onerror = () => { db.close(); reject(t.error); };
      t.onabort = () => { db.close(); reject(t.error); };
    });
  };
  return {
    put: (bytes, step) => run("readwrite", (s) => s.put({ bytes, step, saved: Date.now() }, "last")),
    get: () => run("readonly", (s) => s.get("last")),
    clear: () => run("readwrite", (s) => s.delete("last")),
    putData: (msg, bytes) => run("readwrite", (s) => s.put({ msg, bytes, saved: Date.now() }, "data")),
    getData: () => run("readonly", (s) => s.get("data")),
  };
})();
