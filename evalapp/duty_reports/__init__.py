"""The chair's duty report: rich text, images, a video, attachments, versions, locked when voting opens."""
