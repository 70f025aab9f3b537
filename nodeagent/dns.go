package nodeagent

import (
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/resolved"
)

// replaceDNS makes the catalog serve exactly st's valid services. A
// service the catalog refuses keeps what it last served and is reported;
// it never stops the others.
func (a *Agent) replaceDNS(st *resolved.State) {
	if a.cfg.Catalog == nil {
		return
	}
	svcs := make([]dnsname.Service, 0, len(st.Services))
	for _, s := range st.Services {
		if _, bad := a.refused[s.Ref()]; !bad {
			svcs = append(svcs, DNSService(s))
		}
	}
	if err := a.cfg.Catalog.Replace(svcs); err != nil {
		a.log.Warn("dns: services refused", "err", err)
	}
}

func (a *Agent) setDNS(s *resolved.Service) {
	if a.cfg.Catalog == nil {
		return
	}
	if err := a.cfg.Catalog.SetService(DNSService(s)); err != nil {
		a.refused[s.Ref()] = err
	}
}

func (a *Agent) deleteDNS(r resolved.Ref) {
	if a.cfg.Catalog != nil {
		a.cfg.Catalog.DeleteService(r.Namespace, r.Name)
	}
}
