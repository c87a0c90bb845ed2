// Placeholder: the shared map-layout header and helpers land here.
