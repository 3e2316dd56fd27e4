// image, image_grid, image_compare, audio, video.
// The page's CSP (default-src 'self') blocks data:, blob: and remote
// sources for <img>/<audio>/<video>, so: same-origin URLs load directly;
// data: URLs are decoded here (images with createImageBitmap onto a
// <canvas>, audio with Web Audio; video is offered as a download);
// remote URLs are offered as links. Nothing else is ever used as a URL.
import { el, clear, isObject, textOf, clip, listOf, bad, unwrap, urlKind, decodeDataUrl, downloadLink } from "./util.js";

function srcOf(v) {
  if (typeof v === "string") return { src: v.trim(), alt: "" };
  if (isObject(v)) {
    const src = v.url ?? v.src ?? v.data ?? v.image ?? v.value;
    if (typeof src === "string") {
      return { src: src.trim(), alt: textOf(v.alt ?? v.caption ?? v.label ?? ""), caption: v.caption ?? v.label ?? v.title };
    }
  }
  bad("expected an image URL or data: URL");
}

function remoteLink(src, what) {
  return el("div", { class: "pxr-media-note" }, `${what} from another site (not loaded): `,
    el("a", { href: src, rel: "noopener noreferrer", target: "_blank" }, clip(src, 300)));
}

// A node showing the image at src (img, canvas, or a note); throws BadValue
// for a value that is not an image URL at all.
function imageNode(src, alt) {
  const kind = urlKind(src);
  if (kind === "same") return el("img", { class: "pxr-img", src, alt: alt || "" });
  if (kind === "remote") return remoteLink(src, "Image");
  if (kind !== "data") {
    // Bare base64 (what some tools send) is taken as a PNG/JPEG.
    if (/^[A-Za-z0-9+/=\s]{16,}$/.test(src)) return imageNode("data:image/png;base64," + src, alt);
    bad("expected an image URL or data: URL");
  }
  const d = decodeDataUrl(src);
  if (!d) bad("malformed data: URL");
  const canvas = el("canvas", { class: "pxr-img", role: "img", "aria-label": alt || "image" });
  createImageBitmap(new Blob([d.bytes], { type: d.mime }))
    .then((bmp) => {
      canvas.width = bmp.width;
      canvas.height = bmp.height;
      canvas.getContext("2d").drawImage(bmp, 0, 0);
      bmp.close();
    })
    .catch(() => {
      canvas.replaceWith(el("div", { class: "pxr-media-note" }, `This image (${d.mime}) cannot be shown here. `,
        downloadLink("Download it", "image", [d.bytes], d.mime)));
    });
  return canvas;
}

function figure(v) {
  const { src, alt, caption } = srcOf(v);
  const node = imageNode(src, alt);
  return el("figure", { class: "pxr-figure" }, node,
    caption !== undefined && caption !== null && caption !== "" ? el("figcaption", null, clip(textOf(caption), 1000)) : null);
}

export function image(root) {
  return {
    update(v) {
      const f = figure(isObject(v) && isObject(v.value) ? v.value : v);
      root.replaceChildren(f);
    },
  };
}

export function imageGrid(root) {
  const grid = el("div", { class: "pxr-grid" });
  root.appendChild(grid);
  return {
    update(v) {
      const images = listOf(v, "images", "items");
      if (!images) bad("expected {images: [...]}");
      const frag = document.createDocumentFragment();
      for (const img of images.slice(0, 500)) frag.appendChild(figure(img));
      grid.replaceChildren(frag);
    },
  };
}

export function imageCompare(root) {
  return {
    update(v) {
      if (!isObject(v)) bad("expected {before, after}");
      const b = srcOf(v.before ?? v.left), a = srcOf(v.after ?? v.right);
      const after = imageNode(a.src, a.alt || "after");
      const before = imageNode(b.src, b.alt || "before");
      const clipBox = el("div", { class: "pxr-compare__before" }, before);
      const slider = el("input", { type: "range", min: "0", max: "100", value: "50", class: "pxr-compare__range", "aria-label": "Before / after" });
      const set = () => { clipBox.style.clipPath = `inset(0 ${100 - Number(slider.value)}% 0 0)`; };
      slider.addEventListener("input", set);
      set();
      root.replaceChildren(
        el("div", { class: "pxr-compare" }, el("div", { class: "pxr-compare__after" }, after), clipBox),
        slider,
        el("div", { class: "pxr-compare__labels" }, el("span", null, "before"), el("span", null, "after")));
    },
  };
}

function mediaSrc(v) {
  v = unwrap(v);
  if (typeof v === "string") return v.trim();
  if (isObject(v)) {
    const s = v.url ?? v.src ?? v.data;
    if (typeof s === "string") return s.trim();
  }
  bad("expected a URL or data: URL");
}

// Plays decoded audio bytes with Web Audio (no URL involved).
function webAudioPlayer(d) {
  const btn = el("button", { type: "button", class: "pxr-btn pxr-audio__play" }, "Play");
  const status = el("span", { class: "pxr-audio__status" });
  let ctx = null, node = null;
  btn.addEventListener("click", async () => {
    if (node) { node.stop(); return; }
    try {
      ctx = ctx || new AudioContext();
      const buf = await ctx.decodeAudioData(d.bytes.slice().buffer);
      node = ctx.createBufferSource();
      node.buffer = buf;
      node.connect(ctx.destination);
      node.onended = () => { node = null; btn.textContent = "Play"; };
      node.start();
      btn.textContent = "Stop";
      status.textContent = `${buf.duration.toFixed(1)} s`;
    } catch (e) {
      status.textContent = "cannot play this audio here";
    }
  });
  return el("div", { class: "pxr-audio" }, btn, status, downloadLink("Download", "audio", [d.bytes], d.mime));
}

function media(tag) {
  return (root) => ({
    update(v) {
      const src = mediaSrc(v);
      const kind = urlKind(src);
      let node;
      if (kind === "same") node = el(tag, { class: `pxr-${tag}`, src, controls: true, preload: "metadata" });
      else if (kind === "remote") node = remoteLink(src, tag === "audio" ? "Audio" : "Video");
      else if (kind === "data") {
        const d = decodeDataUrl(src);
        if (!d) bad("malformed data: URL");
        node = tag === "audio" ? webAudioPlayer(d)
          : el("div", { class: "pxr-media-note" }, "This video cannot play inline under the page's security policy. ",
            downloadLink("Download it", "video", [d.bytes], d.mime));
      } else bad("expected a URL or data: URL");
      clear(root).appendChild(node);
    },
  });
}

export const audio = media("audio");
export const video = media("video");
